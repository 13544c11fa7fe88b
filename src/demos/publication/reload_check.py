"""Exercise 2.3's check: a hot-reloadable model, with every race it judges forced.

The check holds two requests inside the old model while it is reloaded, then lets them
finish **one at a time**, so that a model closed after the first request ends is closed
while the second is still using it.

A reader's answer that counts the requests on each model without a lock is wrong, but it
fails only when two requests read the count before either writes it back: a lost update.
That is forced here without touching the reader's code: :class:`FirstReads` makes each
request's first read of a count (an ``int`` attribute of the reader's object, or an item
of a dict or list it holds, subclasses such as ``defaultdict`` and ``Counter`` included)
wait until the other request has read too, and then both go on with what they read. A
request that reads while one of the object's locks is held does not wait: its read is
serialised by that lock, which is the right answer.

An answer that counts under the lock but decides outside it whether to close the old
model closes it twice if a reload lands between a request's last count and its decision.
:func:`_reload_at_release` forces that: it runs ``reload`` the moment a request, its model
call over, releases one of the reader's locks (one held in an attribute of its object).
An answer that reads the model before taking its lock counts itself on a model a reload
may already have closed: :func:`_reload_before_lock` reloads just before that acquire.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from demos import exercises
from demos.publication.model import load_model, reference_predict, sample_ids
from demos.publication.reload_races import IN_FLIGHT, LOCKS, FirstReads, HookedLock

__all__ = ["BOUND_S", "IN_FLIGHT", "FirstReads", "TrackedModel", "check_reload"]

#: The bound on every wait the check makes; nothing here takes more than a fraction of it.
BOUND_S = 5.0


class TrackedModel:
    """A real model that records its requests and its ``close()``, for :func:`check_reload`.

    Its first ``hold`` requests wait inside ``predict`` until :meth:`release_one` lets one
    of them go (the requests in flight while the model is reloaded); ``entered`` is set once
    all ``hold`` of them are inside at the same time.
    """

    def __init__(self, seed: int, *, hold: int = 0) -> None:
        self.seed, self.model = seed, load_model(seed)
        self.hold, self.entered = hold, threading.Event()
        self._turns = threading.Semaphore(0)  # one release per held request
        # Guards the counters below.
        self._lock = threading.Lock()
        self.calls = self.in_flight = self.closes = self.closed_in_flight = 0
        self.closed = False
        self.returned = threading.Event()  # set once a call of predict has returned

    def release_one(self) -> None:
        """Let one held request go on."""
        self._turns.release()

    def predict(self, ids: Any) -> Any:
        with self._lock:
            if self.closed:
                raise RuntimeError(f"model {self.seed} used after close()")
            held = self.calls < self.hold
            self.calls, self.in_flight = self.calls + 1, self.in_flight + 1
            if held and self.in_flight == self.hold:
                self.entered.set()
        try:
            if held:
                self._turns.acquire(timeout=BOUND_S)
            out = self.model.predict(ids)
            with self._lock:
                if self.closed:
                    raise RuntimeError(f"model {self.seed} was closed while a request used it")
            return out
        finally:
            with self._lock:
                self.in_flight -= 1
            self.returned.set()

    def close(self) -> None:
        with self._lock:
            self.closes += 1
            self.closed_in_flight += self.in_flight
            self.closed = True


def _reload_at_release(reloadable: Any) -> str | None:
    """Reload when a request, its model call over, releases a lock; a problem, or None."""
    old, new = TrackedModel(0), TrackedModel(1)
    served, fired = reloadable(old), []

    def reload_now() -> None:
        if threading.current_thread().name == "request-r" and old.returned.is_set() \
                and not fired:
            fired.append(threading.Thread(target=served.reload, args=(new,), daemon=True))
            fired[0].start()
            fired[0].join(BOUND_S / 5)  # a reload may wait for this request: go on then

    for name, value in list(getattr(served, "__dict__", {}).items()):
        if isinstance(value, LOCKS):
            setattr(served, name, HookedLock(value, reload_now))
    errors: list[str] = []

    def predict() -> None:
        try:
            served.predict(sample_ids(2, seed=3))
        except Exception as error:  # what the request saw, for the verdict
            errors.append(f"{type(error).__name__}: {error}")

    request = threading.Thread(target=predict, name="request-r", daemon=True)
    request.start()
    request.join(BOUND_S)
    if not fired:  # no lock of the reader's was released after the call: reload now
        fired.append(threading.Thread(target=served.reload, args=(new,), daemon=True))
        fired[0].start()
    fired[0].join(BOUND_S)
    if request.is_alive() or fired[0].is_alive():
        return f"a request or the reload was still running after {BOUND_S}s"
    wrong = [f"the old model was closed {old.closes} times (once is right)"] * (
        old.closes != 1) + [f"the old model was closed while {old.closed_in_flight} "
                            "request(s) used it"] * bool(old.closed_in_flight) + [
        "the new model was closed"] * bool(new.closes) + [
        f"the request failed: {error}" for error in errors]
    if wrong:
        return (f"when reload() ran just as a request released your lock after its model "
                f"call, {', '.join(wrong)}: decide under the lock who closes it; call "
                f"close() outside")
    return None


def _reload_before_lock(reloadable: Any) -> str | None:
    """Reload just before a request first takes one of the reader's locks; a problem, or None.

    A request that read the model before taking the lock then counts itself on a model the
    reload has already found idle and closed: the request uses a closed model, in every run.
    """
    old, new = TrackedModel(0), TrackedModel(1)
    served, fired = reloadable(old), []

    def reload_now() -> None:
        if threading.current_thread().name == "request-g" and not fired:
            fired.append(threading.Thread(target=served.reload, args=(new,), daemon=True))
            fired[0].start()
            fired[0].join(BOUND_S / 5)  # a reload may wait for this request: go on then

    for name, value in list(getattr(served, "__dict__", {}).items()):
        if isinstance(value, LOCKS):
            setattr(served, name, HookedLock(value, lambda: None, reload_now))
    errors: list[str] = []

    def predict() -> None:
        try:
            served.predict(sample_ids(2, seed=3))
        except Exception as error:  # what the request saw, for the verdict
            errors.append(f"{type(error).__name__}: {error}")

    request = threading.Thread(target=predict, name="request-g", daemon=True)
    request.start()
    request.join(BOUND_S)
    for thread in fired:
        thread.join(BOUND_S)
    if request.is_alive() or any(t.is_alive() for t in fired):
        return f"a request or the reload was still running after {BOUND_S}s"
    wrong = [f"the request failed: {error}" for error in errors] + [
        f"the old model was closed {old.closes} times (once is right)"] * (
        bool(fired) and old.closes != 1) + ["the new model was closed"] * bool(new.closes)
    if wrong:
        return (f"when reload() ran just before a request took your lock, {', '.join(wrong)}: "
                f"read the model under the same lock that counts its requests")
    return None


def check_reload(reloadable: Any) -> exercises.Verdict:
    """``reloadable(model)`` has ``predict(ids)`` and ``reload(new_model)``; see the module."""
    from demos.harness import bounded

    old, new = TrackedModel(0, hold=IN_FLIGHT), TrackedModel(1)
    ids = sample_ids(2, seed=3)
    answers = {0: reference_predict(ids, 0), 1: reference_predict(ids, 1)}

    def who(out: Any) -> int | None:
        return next((s for s, a in answers.items() if np.allclose(out, a, atol=1e-5)), None)

    served = reloadable(old)
    reads = FirstReads(served)
    reads.install()
    results: list[Any] = []
    finished = threading.Semaphore(0)

    def request() -> None:
        try:
            out = who(served.predict(ids))
            results.append(True if out == 0 else f"answered by model {out}, expected 0")
        except Exception as error:  # what the request saw, for the verdict
            results.append(f"{type(error).__name__}: {error}")
        finally:
            finished.release()

    in_flight = [threading.Thread(target=request, name=f"request-{i}", daemon=True)
                 for i in range(IN_FLIGHT)]
    for thread in in_flight:
        thread.start()
    if not old.entered.wait(BOUND_S):
        for _ in in_flight:
            old.release_one()
        for thread in in_flight:
            thread.join(BOUND_S)
        return exercises.failed("2.3", (
            f"{IN_FLIGHT} requests could not be inside the model at the same time: they "
            "were served one at a time (a lock held around predict?)"))
    reload = threading.Thread(target=served.reload, args=(new,), name="reload", daemon=True)
    reload.start()
    reload.join(BOUND_S / 5)  # a reload may wait for in-flight requests, or return at once
    for _ in in_flight:  # one at a time: the next goes on once the last has finished
        old.release_one()
        finished.acquire(timeout=BOUND_S)
    for thread in in_flight:
        thread.join(BOUND_S)
    reload.join(BOUND_S)
    if any(t.is_alive() for t in in_flight) or reload.is_alive():
        return exercises.failed("2.3", f"a request or the reload was still running after "
                                       f"{BOUND_S}s")
    closed_in_time = old.closes
    after = bounded(lambda: who(served.predict(ids)), BOUND_S, name="request-c")
    problems = []
    failures = [r for r in results if r is not True]
    if failures or len(results) < IN_FLIGHT:
        problems.append(f"{len(failures)} of the {IN_FLIGHT} requests in flight during the "
                        f"reload failed: {failures[0]}" if failures else
                        "a request in flight got no answer")
    if old.closed_in_flight:
        problems.append(f"the old model was closed while {old.closed_in_flight} request(s) "
                        "were using it")
    if old.closes == 1 and not closed_in_time:
        problems.append("the old model was still open after its last request had ended "
                        "and reload() had returned: close it then, not later")
    if old.closes != 1:
        problems.append(f"the old model was closed {old.closes} times (once is right, "
                        "after its last request)")
    if new.closes:
        problems.append("the new model was closed")
    if not after.ok or after.value != 1:
        problems.append(f"a request after reload() returned was not answered by the new "
                        f"model ({after})")
    if problems and reads.unlocked >= IN_FLIGHT:
        problems.append(f"the {IN_FLIGHT} requests read their count at the same moment with "
                        "no lock held, so one update was lost: read and write it under one lock")
    late = None if problems else _reload_at_release(reloadable) or _reload_before_lock(
        reloadable)
    if late:
        problems.append(late)
    if problems:
        return exercises.failed("2.3", "; ".join(problems))
    return exercises.passed("2.3", f"the {IN_FLIGHT} requests in flight were answered by the "
                                   "old model, which was closed once, after the last of "
                                   "them; the next request by the new one")
