"""Chapter 2: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import contextlib
import threading

from wrong_answers.common import wrong

# --- 2.1 · once(init) -----------------------------------------------------------------------


def _p21(once):
    from demos.publication import exercises

    return exercises.check_1(once)


@wrong("2.1", "a lock, but no second check: every thread that waited runs init again",
       r"init ran more than once")
def _():
    def once(init):
        lock, box = threading.Lock(), []

        def get():
            if not box:
                with lock:
                    box.append(init())
            return box[-1]

        return get

    return _p21(once)


@wrong("2.1", "functools.cache on a function of no arguments", r"init ran more than once")
def _():
    import functools

    return _p21(lambda init: functools.cache(init))


@wrong("2.1", "a failed init remembered forever", r"after a failed init")
def _():
    def once(init):
        lock, box = threading.Lock(), []

        def get():
            with lock:
                if not box:
                    try:
                        box.append(("ok", init()))
                    except Exception as error:
                        box.append(("error", error))
            kind, value = box[0]
            if kind == "error":
                raise value
            return value

        return get

    return _p21(once)


@wrong("2.1", "None as 'not loaded yet', checked twice under a lock, init's error swallowed",
       r"did not raise")
def _():
    def once(init):
        lock, box = threading.Lock(), [None]

        def get():
            if box[0] is None:
                with lock:
                    if box[0] is None:
                        with contextlib.suppress(Exception):
                            box[0] = init()
            return box[0]

        return get

    return _p21(once)


@wrong("2.1", "None as 'not loaded yet', checked twice under a lock: an init that returns "
       "None runs on every call", r"returns None ran 3 times")
def _():
    def once(init):
        lock, box = threading.Lock(), [None]

        def get():
            if box[0] is None:
                with lock:
                    if box[0] is None:
                        box[0] = init()
            return box[0]

        return get

    return _p21(once)


@wrong("2.1", "the first caller runs init, the others wait on an Event and return the stored "
       "value: when init fails, a waiting caller gets None", r"got None instead of an error")
def _():
    def once(init):
        lock, ready, state = threading.Lock(), threading.Event(), {"started": False, "v": None}

        def get():
            with lock:
                first, state["started"] = not state["started"], True
            if first:
                try:
                    state["v"] = init()
                except Exception:
                    state["started"] = False
                    raise
                finally:
                    ready.set()
            else:
                ready.wait(5)
            return state["v"]

        return get

    return _p21(once)


# --- 2.2 · readiness ------------------------------------------------------------------------


def _p22(readiness):
    from demos.publication import exercises

    return exercises.check_2(readiness)


@wrong("2.2", "waits for the model with get(): blocks while loading", r"blocked on a loading")
def _():
    from demos.publication import fixed

    def readiness(holder):
        try:
            holder.get()
            return 200, "ready"
        except fixed.ModelLoadError as error:
            return 500, f"failed: {error.__cause__!r}"

    return _p22(readiness)


@wrong("2.2", "500 without the load error's text", r"does not name the load error")
def _():
    from demos.publication import fixed

    def readiness(holder):
        if holder.is_ready():
            return 200, "ready"
        try:
            holder.get(timeout_s=0.001)
        except fixed.ModelLoadError:
            return 500, "failed"
        except fixed.ModelNotReadyError:
            return 503, "loading"
        return 200, "ready"

    return _p22(readiness)


@wrong("2.2", "every error a 500: loading reported as failed", r"loading: got 500")
def _():
    def readiness(holder):
        if holder.is_ready():
            return 200, "ready"
        try:
            holder.get(timeout_s=0.001)
        except Exception as error:
            return 500, f"failed: {error!r} {error.__cause__!r}"
        return 200, "ready"

    return _p22(readiness)


@wrong("2.2", "(200, 'ok') where the task asks for (200, 'ready')",
       r"ready: got text 'ok', expected 'ready'")
def _():
    from demos.publication import fixed

    def readiness(holder):
        try:
            holder.get(timeout_s=0.001)
        except fixed.ModelLoadError as error:
            return 500, f"failed: {error.__cause__!r}"
        except fixed.ModelNotReadyError:
            return 503, "loading"
        return 200, "ok"

    return _p22(readiness)


# --- 2.3 · hot reload -----------------------------------------------------------------------


def _p23(reloadable):
    from demos.publication import exercises

    return exercises.check_3(reloadable)


@wrong("2.3", "never closes the old model", r"closed 0 times")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model = model

        def predict(self, ids):
            return self._model.predict(ids)

        def reload(self, new_model):
            self._model = new_model

    return _p23(Reloadable)


@wrong("2.3", "a lock around predict and reload: requests are served one at a time",
       r"one at a time")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._lock = model, threading.Lock()

        def predict(self, ids):
            with self._lock:
                return self._model.predict(ids)

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
            old.close()

    return _p23(Reloadable)


@wrong("2.3", "closes the old model when the next request arrives", r"still open after")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._old = model, None

        def predict(self, ids):
            if self._old is not None:
                self._old.close()
                self._old = None
            return self._model.predict(ids)

        def reload(self, new_model):
            self._old, self._model = self._model, new_model

    return _p23(Reloadable)


@wrong("2.3", "counts requests under a lock, but forgets a busy old model", r"closed 0 times")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._users, self._lock = model, {}, threading.Lock()

        def predict(self, ids):
            with self._lock:
                model = self._model
                self._users[id(model)] = self._users.get(id(model), 0) + 1
            try:
                return model.predict(ids)
            finally:
                with self._lock:
                    self._users[id(model)] -= 1

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
                idle = self._users.get(id(old), 0) == 0
            if idle:
                old.close()

    return _p23(Reloadable)


@wrong("2.2", "waits half a second for the model before answering", r"wait up to 0.5 s")
def _():
    from demos.publication import fixed

    def readiness(holder):
        try:
            holder.get(timeout_s=0.5)
            return 200, "ready"
        except fixed.ModelLoadError as error:
            return 500, f"failed: {error.__cause__!r}"
        except fixed.ModelNotReadyError:
            return 503, "loading"

    return _p22(readiness)


@wrong("2.3", "counts the requests on each model without a lock: two requests count as one",
       r"no lock held, so one update was lost")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._users = model, {}

        def predict(self, ids):
            model = self._model
            self._users[id(model)] = self._users.get(id(model), 0) + 1
            try:
                return model.predict(ids)
            finally:
                self._users[id(model)] -= 1
                if self._users[id(model)] == 0 and model is not self._model:
                    model.close()

        def reload(self, new_model):
            old, self._model = self._model, new_model
            if self._users.get(id(old), 0) == 0:
                old.close()

    return _p23(Reloadable)


@wrong("2.3", "an unlocked += on an integer count kept per model generation",
       r"no lock held, so one update was lost")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._busy = model, 0

        def predict(self, ids):
            model = self._model
            self._busy += 1
            try:
                return model.predict(ids)
            finally:
                self._busy -= 1
                if self._busy == 0 and model is not self._model:
                    model.close()

        def reload(self, new_model):
            old, self._model = self._model, new_model
            if self._busy == 0:
                old.close()

    return _p23(Reloadable)


def _unlocked_counts(make_counts, key):
    """An answer that counts without a lock in ``make_counts()``, indexed by ``key(model)``."""

    class Reloadable:
        def __init__(self, model):
            self._model, self._users = model, make_counts()

        def predict(self, ids):
            model = self._model
            self._users[key(model)] += 1
            try:
                return model.predict(ids)
            finally:
                self._users[key(model)] -= 1
                if self._users[key(model)] == 0 and model is not self._model:
                    model.close()

        def reload(self, new_model):
            old, self._model = self._model, new_model
            if self._users[key(old)] == 0:
                old.close()

    return _p23(Reloadable)


@wrong("2.3", "counts without a lock in a defaultdict(int)",
       r"no lock held, so one update was lost")
def _():
    import collections

    return _unlocked_counts(lambda: collections.defaultdict(int), id)


@wrong("2.3", "counts without a lock in a Counter", r"no lock held, so one update was lost")
def _():
    import collections

    return _unlocked_counts(collections.Counter, id)


@wrong("2.3", "counts without a lock in a one-item list", r"no lock held, so one update was lost")
def _():
    return _unlocked_counts(lambda: [0], lambda model: 0)


@wrong("2.3", "counts under the lock, but decides outside it whether to close: a reload "
              "between the two closes the old model twice",
       r"closed 2 times.*decide under the lock")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._users, self._lock = model, {}, threading.Lock()

        def predict(self, ids):
            with self._lock:
                model = self._model
                self._users[id(model)] = self._users.get(id(model), 0) + 1
            try:
                return model.predict(ids)
            finally:
                with self._lock:
                    self._users[id(model)] -= 1
                if self._users[id(model)] == 0 and model is not self._model:
                    model.close()

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
                idle = self._users.get(id(old), 0) == 0
            if idle:
                old.close()

    return _p23(Reloadable)


@wrong("2.3", "reads the model before taking the lock that counts its requests: a reload "
       "in between closes the model under the request", r"used after close\(\)")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._users, self._retired = model, {}, []
            self._lock = threading.Lock()

        def predict(self, ids):
            model = self._model  # read before taking the lock
            with self._lock:
                self._users[id(model)] = self._users.get(id(model), 0) + 1
            try:
                return model.predict(ids)
            finally:
                with self._lock:
                    self._users[id(model)] -= 1
                    last = self._users[id(model)] == 0 and model in self._retired
                    if last:
                        self._retired.remove(model)
                if last:
                    model.close()

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
                idle = self._users.get(id(old), 0) == 0
                if not idle:
                    self._retired.append(old)
            if idle:
                old.close()

    return _p23(Reloadable)


# --- 2.4 · workers that fit a memory budget ----------------------------------------------------


def _p24(fit):
    from demos.publication import exercises

    return exercises.check_4(fit)


def _line(totals):
    """(base, per worker) of a straight line through the first and last measurement."""
    per = (totals[-1] - totals[0]) / (len(totals) - 1)
    return totals[0] - per, per


@wrong("2.4", "sums the USS, so forked workers' shared weights are never counted",
       r"fork after preload, 1000 MiB: \d+, expected 106")
def _():
    import math

    def fit(steps, budget):
        base, per = _line([s.server_uss_mib + sum(s.uss_mib) for s in steps])
        return max(0, math.floor((budget - base) / per))

    return _p24(fit)


@wrong("2.4", "takes one worker's total (server included) as the cost of every worker",
       r"spawn, 2000 MiB: 5, expected 6")
def _():
    return _p24(lambda steps, budget: int(budget // steps[0].total_pss_mib))


@wrong("2.4", "leaves the server out of the budget", r"1995 MiB: 6, expected 5")
def _():
    def fit(steps, budget):
        _, per = _line([s.total_pss_mib for s in steps])
        return int(budget // per)

    return _p24(fit)


@wrong("2.4", "rounds to the nearest worker instead of down",
       r"most of a third: 3, expected 2")
def _():
    def fit(steps, budget):
        base, per = _line([s.total_pss_mib for s in steps])
        return max(0, round((budget - base) / per))

    return _p24(fit)


@wrong("2.4", "counts workers while the total stays strictly under the budget",
       r"exactly 4 workers' worth: 3, expected 4")
def _():
    def fit(steps, budget):
        base, per = _line([s.total_pss_mib for s in steps])
        n = 0
        while base + (n + 1) * per < budget:
            n += 1
        return n

    return _p24(fit)


@wrong("2.4", "no floor at zero: a budget below the server's own part gives negative workers",
       r"less than the server's own part: -\d+, expected 0")
def _():
    import math

    def fit(steps, budget):
        base, per = _line([s.total_pss_mib for s in steps])
        return math.floor((budget - base) / per)

    return _p24(fit)


@wrong("2.4", "rebuilds the total from the server's and the workers' PSS, leaving out the "
       "server's other children (the resource tracker)",
       r"6 MiB resource tracker, 1995 MiB: 6, expected 5")
def _():
    import math

    def fit(steps, budget):
        base, per = _line([s.server_pss_mib + sum(s.pss_mib) for s in steps])
        return max(0, math.floor((budget - base) / per))

    return _p24(fit)
