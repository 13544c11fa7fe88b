"""Checks for chapter 7's exercises: each returns a :class:`demos.exercises.Verdict`.

Each check runs the reader's function over a table of cases whose right answers follow
from the chapter's rules, including the wrong-but-plausible answers a service meets in
production (a draining server called ready, a 400 retried, an exit with clients still
sending). Messages are counts, so a stored verdict never depends on the machine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from demos import exercises

__all__ = ["check_1", "check_2", "check_3"]


def _tally(number: str, cases: list[tuple[Any, Any]], call: Callable[[Any], Any],
           what: str, same: Callable[[Any, Any], bool] = lambda a, b: a == b,
           show: Callable[[Any], str] = str) -> exercises.Verdict:
    wrong = []
    for given, want in cases:
        try:
            got = call(given)
        except Exception as error:  # a reader's exception is an answer too: a wrong one
            got = f"{type(error).__name__}: {error}"
        if not same(got, want):
            wrong.append((given, want, got))
    if not wrong:
        return exercises.passed(number, f"all {len(cases)} {what} judged right")
    given, want, got = wrong[0]
    return exercises.failed(number, f"{len(wrong)} of {len(cases)} {what} judged wrong; "
                            f"first: {show(given)} -> {got!r}, expected {want!r}")


# --- 7.1 readiness ------------------------------------------------------------------------

STATE = ("loaded", "warm", "batcher_alive", "draining")


def _ready_cases() -> list[tuple[dict[str, bool], bool]]:
    """The 16 states, the one ready state asked first and again last: a readiness that
    latches (ready once, ready forever; or not ready once, never ready again) is caught."""
    cases = []
    for values in itertools.product((False, True), repeat=len(STATE)):
        state = dict(zip(STATE, values, strict=True))
        want = state["loaded"] and state["warm"] and state["batcher_alive"] \
            and not state["draining"]
        cases.append((state, want))
    ready = [case for case in cases if case[1]]
    return ready + [case for case in cases if not case[1]] + ready


def check_1(readiness: Callable[[dict[str, bool]], str]) -> exercises.Verdict:
    """``readiness(state) -> ""`` when a request would be served now, else a reason.

    All 16 states of (loaded, warm, batcher_alive, draining) are asked, the ready one
    first and again last (17 questions); a non-empty reason must come with every state
    that would not serve.
    """
    return _tally("7.1", _ready_cases(), lambda state: readiness(dict(state)) == "",
                  "questions on the 16 service states")


# --- 7.2 the client's side: retry or not --------------------------------------------------

def _retry_cases() -> list[tuple[tuple[int, dict[str, str], int], float | None]]:
    """(status, headers, attempt) -> seconds to wait before retrying, or None: give up."""
    cases: list[tuple[tuple[int, dict[str, str], int], float | None]] = [
        ((200, {}, 0), None), ((400, {}, 0), None), ((404, {}, 0), None),
        ((413, {}, 0), None), ((422, {}, 1), None),
        ((503, {"retry-after": "1"}, 0), 1.0), ((503, {"retry-after": "7"}, 2), 7.0),
        ((429, {"retry-after": "3"}, 0), 3.0),
        ((503, {}, 0), 0.5), ((503, {}, 1), 1.0), ((502, {}, 2), 2.0), ((504, {}, 3), 4.0),
        ((500, {}, 4), 8.0), ((503, {}, 9), None),
        ((503, {"retry-after": "1"}, 5), None), ((500, {}, 5), None),
        # a 2xx other than 200, 4xx other than those above: never retried either
        ((204, {}, 0), None), ((401, {}, 0), None), ((409, {}, 1), None),
        # Retry-After is what the 503 or 429 says, not a floor under the backoff ...
        ((503, {"retry-after": "1"}, 3), 1.0),
        # ... and only a 503 or 429 is taken at its word: another 5xx backs off
        ((500, {"retry-after": "30"}, 0), 0.5),
    ]
    return cases


def check_2(next_wait: Callable[[int, dict[str, str], int], float | None]
            ) -> exercises.Verdict:
    """``next_wait(status, headers, attempt)``: the seconds before retry ``attempt + 1``.

    The rules: never retry a 2xx or a 4xx other than 429 (the request itself is wrong); a
    503 or 429 with ``Retry-After`` waits what it says; another 5xx backs off 0.5 s × 2 **
    attempt, at most 8 s; give up (None) after attempt 4 (five tries in all).
    """
    return _tally("7.2", _retry_cases(), lambda case: next_wait(case[0], dict(case[1]), case[2]),
                  "responses",
                  lambda got, want: got is None if want is None
                  else isinstance(got, int | float) and abs(got - want) < 1e-9)


# --- 7.3 when a draining server may exit --------------------------------------------------

def _exit_cases() -> list[tuple[tuple[int, float, float, float, float], bool]]:
    """(in_flight, seconds since the last request, seconds since SIGTERM, quiet_s, drain_s)
    -> may it exit? Two settings, so the chapter's values cannot be written in instead."""
    first = [
        ((0, 1.0, 1.0), True), ((0, 0.5, 0.6), True), ((0, 0.1, 0.2), False),
        ((0, 0.4, 9.0), False), ((3, 2.0, 2.0), False), ((1, 5.0, 9.9), False),
        ((3, 0.0, 10.0), True), ((0, 0.0, 12.0), True), ((64, 0.1, 0.1), False),
        ((0, 3.0, 3.0), True),
        ((0, 3.0, 0.1), True),  # quiet since before SIGTERM: nothing to wait for
    ]
    second = [
        ((0, 1.0, 12.0), False), ((2, 0.0, 20.0), False), ((0, 2.5, 3.0), True),
        ((1, 0.0, 30.0), True),
    ]
    return [((*moment, 0.5, 10.0), want) for moment, want in first] \
        + [((*moment, 2.0, 30.0), want) for moment, want in second]


def check_3(may_exit: Callable[..., bool]) -> exercises.Verdict:
    """``may_exit(in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s) -> bool``.

    The drain's rule: exit once nothing is in flight and no request came for ``quiet_s``
    (the load balancer has stopped sending), or when ``drain_s`` has passed whatever else.
    Asked with quiet_s=0.5, drain_s=10 and with quiet_s=2, drain_s=30.
    """
    return _tally("7.3", _exit_cases(),
                  lambda case: bool(may_exit(*case[:3], quiet_s=case[3], drain_s=case[4])),
                  "moments of a drain", show=lambda case: f"({case[0]}, {case[1]}, {case[2]}, "
                  f"quiet_s={case[3]}, drain_s={case[4]})")
