"""Chapter 7: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

from wrong_answers.common import wrong

# --- 7.1 · readiness that tells the truth -------------------------------------------------


def _p71(readiness):
    from demos.service import exercises

    return exercises.check_1(readiness)


@wrong("7.1", "ready once the model is loaded: no warm-up, no batcher, no drain",
       r"'warm': False.* -> True, expected False")
def _():
    return _p71(lambda s: "" if s["loaded"] else "loading")


@wrong("7.1", "a draining server still says ready", r"'draining': True\} -> True, expected False")
def _():
    return _p71(lambda s: "" if s["loaded"] and s["warm"] and s["batcher_alive"] else "no")


@wrong("7.1", "a dead batcher behind a warm model says ready",
       r"'batcher_alive': False, 'draining': False\} -> True, expected False")
def _():
    return _p71(lambda s: "" if s["loaded"] and s["warm"] and not s["draining"] else "no")


@wrong("7.1", "a constant: always ready", r"of 17 questions on the 16 service states judged wrong")
def _():
    return _p71(lambda s: "")


@wrong("7.1", "a ready flag set once and never cleared (latched)",
       r"of 17 questions on the 16 service states judged wrong; "
       r"first: \{'loaded': False.* -> True, expected False")
def _():
    seen = {"ready": False}

    def readiness(s):
        if s["loaded"] and s["warm"] and s["batcher_alive"]:
            seen["ready"] = True
        return "" if seen["ready"] and not s["draining"] else "not ready"

    return _p71(readiness)


# --- 7.2 · the client's side: when to retry ----------------------------------------------


def _p72(next_wait):
    from demos.service import exercises

    return exercises.check_2(next_wait)


@wrong("7.2", "retries every error after a second", r"\(400, \{\}, 0\) -> 1\.0, expected None")
def _():
    return _p72(lambda status, headers, attempt: 1.0 if status >= 400 else None)


@wrong("7.2", "ignores Retry-After", r"'retry-after': '1'\}, 0\) -> 0\.5, expected 1\.0")
def _():
    def next_wait(status, headers, attempt):
        if attempt > 4 or (status < 500 and status != 429):
            return None
        return min(8.0, 0.5 * 2 ** attempt)

    return _p72(next_wait)


@wrong("7.2", "never gives up", r"\(503, \{\}, 9\) -> 8\.0, expected None")
def _():
    def next_wait(status, headers, attempt):
        if status < 500 and status != 429:
            return None
        if status in (429, 503) and "retry-after" in headers:
            return float(headers["retry-after"])
        return min(8.0, 0.5 * 2 ** attempt)

    return _p72(next_wait)


@wrong("7.2", "no backoff: the same wait every time", r"\(503, \{\}, 1\) -> 0\.5, expected 1\.0")
def _():
    def next_wait(status, headers, attempt):
        if attempt > 4 or (status < 500 and status != 429):
            return None
        if status in (429, 503) and "retry-after" in headers:
            return float(headers["retry-after"])
        return 0.5

    return _p72(next_wait)


def _backoff(status, headers, attempt):
    """The right rule after "give up?": the wrong answers below differ from it in one place."""
    if status in (429, 503) and "retry-after" in headers:
        return float(headers["retry-after"])
    return min(8.0, 0.5 * 2 ** attempt)


@wrong("7.2", "only a 200 is success: a 204 is retried", r"\(204, \{\}, 0\) -> 0\.5, expected None")
def _():
    def next_wait(status, headers, attempt):
        if status == 200 or attempt > 4 or (400 <= status < 500 and status != 429):
            return None
        return _backoff(status, headers, attempt)

    return _p72(next_wait)


@wrong("7.2", "a list of 4xx not to retry: a 409 is retried",
       r"\(409, \{\}, 1\) -> 1\.0, expected None")
def _():
    def next_wait(status, headers, attempt):
        if attempt > 4 or 200 <= status < 300 or status in (400, 401, 403, 404, 413, 422):
            return None
        return _backoff(status, headers, attempt)

    return _p72(next_wait)


@wrong("7.2", "Retry-After taken at its word on any 5xx",
       r"\(500, \{'retry-after': '30'\}, 0\) -> 30\.0, expected 0\.5")
def _():
    def next_wait(status, headers, attempt):
        if attempt > 4 or (status < 500 and status != 429):
            return None
        if "retry-after" in headers:
            return float(headers["retry-after"])
        return min(8.0, 0.5 * 2 ** attempt)

    return _p72(next_wait)


@wrong("7.2", "Retry-After as a floor under the backoff",
       r"\(503, \{'retry-after': '1'\}, 3\) -> 4\.0, expected 1\.0")
def _():
    def next_wait(status, headers, attempt):
        if attempt > 4 or (status < 500 and status != 429):
            return None
        backoff = min(8.0, 0.5 * 2 ** attempt)
        if status in (429, 503) and "retry-after" in headers:
            return max(backoff, float(headers["retry-after"]))
        return backoff

    return _p72(next_wait)


# --- 7.3 · when a draining server may exit ------------------------------------------------


def _p73(may_exit):
    from demos.service import exercises

    return exercises.check_3(may_exit)


@wrong("7.3", "exits as soon as nothing is in flight",
       r"\(0, 0\.1, 0\.2, quiet_s=0\.5, drain_s=10\.0\) -> True, expected False")
def _():
    return _p73(lambda in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s: in_flight == 0)


@wrong("7.3", "waits for quiet with no bound",
       r"\(3, 0\.0, 10\.0, quiet_s=0\.5, drain_s=10\.0\) -> False, expected True")
def _():
    return _p73(lambda in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s:
                in_flight == 0 and quiet_for_s >= quiet_s)


@wrong("7.3", "exits when quiet even with requests in flight",
       r"\(3, 2\.0, 2\.0, quiet_s=0\.5, drain_s=10\.0\) -> True, expected False")
def _():
    return _p73(lambda in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s:
                waited_s >= drain_s or quiet_for_s >= quiet_s)


@wrong("7.3", "the chapter's 0.5 s and 10 s written in instead of quiet_s and drain_s",
       r"\(0, 1\.0, 12\.0, quiet_s=2\.0, drain_s=30\.0\) -> True, expected False")
def _():
    return _p73(lambda in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s:
                waited_s >= 10 or (in_flight == 0 and quiet_for_s >= 0.5))


@wrong("7.3", "waits quiet_s after SIGTERM although no request came for longer",
       r"\(0, 3\.0, 0\.1, quiet_s=0\.5, drain_s=10\.0\) -> False, expected True")
def _():
    return _p73(lambda in_flight, quiet_for_s, waited_s, *, quiet_s, drain_s:
                waited_s >= drain_s or (in_flight == 0 and min(quiet_for_s, waited_s) >= quiet_s))
