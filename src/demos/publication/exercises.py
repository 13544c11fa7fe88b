"""Checks for the chapter's exercises; each returns a :class:`demos.exercises.Verdict`.

* :func:`check_1`: ``once(init)``, a once-only initialiser, judged by the chapter's own
  ``scenario.run`` verdict (its lazy-load trials), plus a retry after a failed ``init``.
* :func:`check_2`: a readiness probe that reports a failed load instead of "loading".
* :func:`check_3`: a hot-reloadable model: no request sees a closed model, the old model
  is closed exactly once, after its last request.

Every wait is bounded and every race is forced by events, so a message is the same on
every run (counts, never timings).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from demos import exercises
from demos.publication import fixed, reload_check, scenario
from demos.publication.model import Model, load_model

__all__ = ["BOUND_S", "CAPACITY_CASES", "TrackedModel", "check_1", "check_2", "check_3", "check_4"]

#: The bound on every wait a check makes; nothing here takes more than a fraction of it.
BOUND_S = 5.0
#: The model exercise 2.3's check serves (it records its requests and its close()).
TrackedModel = reload_check.TrackedModel


def check_1(once: Callable[[Callable[[], Any]], Callable[[], Any]]) -> exercises.Verdict:
    """``once(init)`` returns ``get()``: ``init`` runs exactly once, whoever calls first."""

    def attempt() -> exercises.Verdict:
        yours = SimpleNamespace(ModelHolder=fixed.ModelHolder,
                                LazyModel=lambda load: SimpleNamespace(get=once(load)))
        report = scenario.run(yours, trials=3, threads=8, workers=0, bound_s=BOUND_S)
        m = report.metrics
        if report.manifested:
            what = ("init never ran" if m["loads"] == 0 else
                    "init ran more than once" if m["duplicate_loads"] else
                    "threads got different objects or none")
            return exercises.failed("2.1", (
                f"{m['lazy_trials_off_contract']} of {m['trials']} trials broke the contract "
                f"(init exactly once, one object for all {m['threads']} threads): {what}"))
        attempts: list[int] = []

        def flaky() -> str:
            attempts.append(1)
            if len(attempts) == 1:
                raise OSError("disk hiccup")
            return "tokenizer"

        get = once(flaky)
        try:
            get()
            return exercises.failed("2.1", "the first init raised, but get() did not raise it")
        except OSError:
            pass
        try:
            again = [get(), get()]
        except OSError:
            return exercises.failed("2.1", (
                f"after a failed init, get() raised the old error again instead of trying "
                f"init again (init ran {len(attempts)} time(s))"))
        if again != ["tokenizer", "tokenizer"] or len(attempts) != 2:
            return exercises.failed("2.1", (
                f"after a failed init, get() must try again once and then keep the result: "
                f"init ran {len(attempts)} times for 3 calls (2 is right)"))
        waiter = _waiter_during_failed_init(once)
        if waiter is not None:
            return exercises.failed("2.1", waiter)
        nones: list[int] = []
        get = once(lambda: nones.append(1))  # an init whose result is None
        if [get(), get(), get()] != [None, None, None] or len(nones) != 1:
            return exercises.failed("2.1", (
                f"an init that returns None ran {len(nones)} times for 3 calls of get() "
                "(1 is right): None is a result, not 'not loaded yet'; keep a separate flag"))
        return exercises.passed("2.1", (
            f"{m['threads']} threads ran init once per trial in {m['trials']} trials and got "
            f"the same object; a failed init was retried once; a caller waiting on a failed "
            f"init raised or loaded; a None result was kept"))

    return exercises.check("2.1", attempt)


def _waiter_during_failed_init(once: Callable[..., Callable[[], Any]]) -> str | None:
    """A caller arriving while the first init is held open (events), then fails, must raise
    or load again, never return the value that was never made (the headline bug)."""
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def held() -> str:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            release.wait(BOUND_S)
            raise OSError("weights file is truncated")
        return "tokenizer"

    get = once(held)
    def call(into: list[object]) -> None:
        try:
            into.append(get())
        except OSError as error:
            into.append(error)

    got: list[object] = []
    threads = [threading.Thread(target=call, args=(into,), daemon=True) for into in ([], got)]
    if threads[0].start() or started.wait(BOUND_S):
        threads[1].start()
        _until_inside(threads[1], get)
    release.set()
    if any(t.join(BOUND_S) or t.is_alive() for t in threads if t.ident):
        return "a caller of get() was still waiting after a failed init (bounded wait expired)"
    bad = got and not isinstance(got[0], OSError) and got[0] != "tokenizer"
    return (f"a caller that waited while init failed got {got[0]!r} instead of an error or a "
            "retried load: it returned a value that was never made") if bad else None


def _until_inside(thread: threading.Thread, get: Callable[[], Any]) -> None:
    """Wait (bounded) until ``thread`` is inside ``get`` and has stopped moving: blocked."""
    code = getattr(get, "__code__", None)
    deadline, last, still = time.monotonic() + BOUND_S, None, 0
    while time.monotonic() < deadline and thread.is_alive() and still < 5:
        frame = sys._current_frames().get(thread.ident or -1)
        stack: list[tuple[object, int]] = []
        while frame is not None:
            stack, frame = [*stack, (frame.f_code, frame.f_lasti)], frame.f_back
        inside = code is None or any(c is code for c, _ in stack)
        still, last = (still + 1 if inside and stack == last else 0), stack
        time.sleep(0.01)


def _holders() -> tuple[dict[str, Any], threading.Event]:
    release = threading.Event()

    def failing() -> Model:
        raise OSError("weights file is truncated")

    holders = {
        "loading": fixed.ModelHolder(lambda: release.wait(BOUND_S) and load_model(),
                                     name="probe-loading"),
        "ready": fixed.ModelHolder(load_model, name="probe-ready"),
        "failed": fixed.ModelHolder(failing, name="probe-failed"),
    }
    for holder in holders.values():
        holder.start()
    for state in ("ready", "failed"):
        holders[state].join(BOUND_S)
    return holders, release


#: The longest a probe may ask the holder to wait: "is it done?", not "wait until done".
PROBE_WAIT_S = 0.01


class _ProbedHolder:
    """A holder that notes every wait a probe asks of it (``get``, ``predict``, ``join``).

    A probe that waits, even briefly, is judged by what it asked for, not by a clock.
    """

    def __init__(self, holder: Any) -> None:
        self._holder, self.waits = holder, []

    def _asked(self, timeout_s: Any) -> None:
        self.waits.append(float("inf") if timeout_s is None else timeout_s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._holder, name)

    def get(self, timeout_s: float = 30.0) -> Any:
        self._asked(timeout_s)
        return self._holder.get(timeout_s=timeout_s)

    def predict(self, x: Any, timeout_s: float = 30.0) -> Any:
        self._asked(timeout_s)
        return self._holder.predict(x, timeout_s=timeout_s)

    def join(self, timeout_s: float) -> bool:
        self._asked(timeout_s)
        return bool(self._holder.join(timeout_s))


def check_2(readiness: Callable[[Any], tuple[int, str]]) -> exercises.Verdict:
    """``readiness(holder)`` -> (200, ...) ready, (503, ...) loading, (500, ...) failed."""

    def attempt() -> exercises.Verdict:
        holders, release = _holders()
        try:
            seen = {}
            for state, holder in holders.items():
                probed = _ProbedHolder(holder)
                probe = exercises_bounded(lambda h=probed: readiness(h))
                if probe is None:
                    return exercises.failed("2.2", (
                        f"readiness() blocked on a {state} holder for {BOUND_S / 5}s: "
                        "a probe must answer at once"))
                longest = max(probed.waits, default=0.0)
                if longest > PROBE_WAIT_S:
                    return exercises.failed("2.2", (
                        f"readiness() asked a {state} holder to wait up to {longest} s: a "
                        f"probe must answer at once (at most {PROBE_WAIT_S} s)"))
                seen[state] = probe
        finally:
            release.set()
            for holder in holders.values():
                holder.join(BOUND_S)
        want = {"loading": 503, "ready": 200, "failed": 500}
        wrong = [f"{state}: got {seen[state][0]}, expected {code}"
                 for state, code in want.items() if seen[state][0] != code]
        if wrong:
            return exercises.failed("2.2", "; ".join(wrong))
        wrong = [f"{state}: got text {seen[state][1]!r}, expected {text!r}"
                 for state, text in (("ready", "ready"), ("loading", "loading"))
                 if seen[state][1] != text]
        if wrong:
            return exercises.failed("2.2", "; ".join(wrong))
        if "weights file is truncated" not in str(seen["failed"][1]):
            return exercises.failed("2.2", "the failed probe's text does not name the load error")
        return exercises.passed("2.2", "200 when ready, 503 while loading, 500 with the load "
                                       "error when loading failed; no probe blocked")

    return exercises.check("2.2", attempt)


def exercises_bounded(call: Callable[[], Any]) -> Any:
    """``call()`` if it returns within ``BOUND_S / 5`` seconds, else None."""
    from demos.harness import bounded

    outcome = bounded(call, BOUND_S / 5, name="exercise-probe")
    return outcome.unwrap() if not outcome.hung else None


def check_3(reloadable: Callable[[Any], Any]) -> exercises.Verdict:
    """``reloadable(model)`` has ``predict(ids)`` and ``reload(new_model)``: the two requests
    in flight during the reload finish one at a time, and a count read without a lock loses
    an update in every run (:mod:`demos.publication.reload_check`)."""
    return exercises.check("2.3", lambda: reload_check.check_reload(reloadable))


def _steps(method: str, server: tuple[float, ...], workers: tuple[tuple[float, ...], ...],
           uss: tuple[tuple[float, ...], ...], helpers: float = 0.0) -> list[Any]:
    """WorkerMemory for 1, 2, 3 workers: server PSS, workers' PSS and USS, resource tracker."""
    from demos.publication.fork_costs import WorkerMemory

    return [WorkerMemory(method=method, server_uss_mib=min(server), server_pss_mib=s,
                         uss_mib=u, pss_mib=p, helpers_pss_mib=helpers)
            for s, p, u in zip(server, workers, uss, strict=True)]


#: (what, measurements, budget in MiB, workers that fit): shaped like the chapter's runs.
CAPACITY_CASES = [
    ("spawn, 2000 MiB", _steps("spawn", (11.0, 11.0, 11.0), ((330.0,), (330.0, 330.0),
                                                           (330.0, 330.0, 330.0)),
                               ((320.0,), (320.0, 320.0), (320.0, 320.0, 320.0))), 2000.0, 6),
    ("spawn with a 6 MiB resource tracker, 1995 MiB", _steps(
        "spawn", (11.0, 11.0, 11.0), ((330.0,), (330.0, 330.0), (330.0, 330.0, 330.0)),
        ((320.0,), (320.0, 320.0), (320.0, 320.0, 320.0)), helpers=6.0), 1995.0, 5),
    ("spawn, exactly 4 workers' worth", _steps(
        "spawn", (10.0, 10.0, 10.0), ((300.0,), (300.0, 300.0), (300.0, 300.0, 300.0)),
        ((290.0,), (290.0, 290.0), (290.0, 290.0, 290.0))), 1210.0, 4),
    ("spawn, 2 workers and most of a third", _steps(
        "spawn", (10.0, 10.0, 10.0), ((300.0,), (300.0, 300.0), (300.0, 300.0, 300.0)),
        ((290.0,), (290.0, 290.0), (290.0, 290.0, 290.0))), 860.0, 2),
    ("fork after preload, 1000 MiB", _steps(
        "fork", (200.0, 143.0, 115.0), ((167.0,), (115.5, 115.5), (88.0, 88.0, 88.0)),
        ((7.0,), (5.0, 5.0), (5.0, 5.0, 5.0))), 1000.0, 106),
    ("fork after preload, 300 MiB: less than the server's own part", _steps(
        "fork", (200.0, 143.0, 115.0), ((167.0,), (115.5, 115.5), (88.0, 88.0, 88.0)),
        ((7.0,), (5.0, 5.0), (5.0, 5.0, 5.0))), 300.0, 0),
    ("spawn, less than one worker", _steps("spawn", (11.0, 11.0, 11.0), (
        (330.0,), (330.0, 330.0), (330.0, 330.0, 330.0)), ((320.0,), (320.0, 320.0),
                                                          (320.0, 320.0, 320.0))), 300.0, 0),
]


def check_4(fit: Callable[[list[Any], float], int]) -> exercises.Verdict:
    """``fit(steps, budget_mib)``: how many workers fit, server included, from measurements."""

    def attempt() -> exercises.Verdict:
        wrong = []
        for what, steps, budget, right in CAPACITY_CASES:
            got = fit(list(steps), budget)
            if isinstance(got, bool) or not isinstance(got, int):
                return exercises.failed("2.4", f"fit() must return an int, got "
                                               f"{type(got).__name__} for {what}")
            if got != right:
                wrong.append(f"{what}: {got}, expected {right}")
        if wrong:
            return exercises.failed("2.4", f"{len(wrong)} of {len(CAPACITY_CASES)} budgets "
                                           f"wrong: {'; '.join(wrong)}")
        return exercises.passed("2.4", f"all {len(CAPACITY_CASES)} budgets right, for spawned "
                                       "and forked workers")

    return exercises.check("2.4", attempt)
