"""What this installation does with chapter 4's version-dependent claims, observed.

* ``plus_equals_from_threads``: does ``self.n += 1`` from four threads lose updates? On
  CPython 3.10+ with the GIL it has not (the interpreter switches threads only at calls and
  backward jumps); earlier releases and the free-threaded build can.
* ``run_from_two_threads``: may two threads be inside ``session.run`` of one CPU session at
  once? Observed with two runs that wait for each other inside the call (a rendezvous in a
  session proxy) and must both return right results.

Both are run, never looked up; together they take well under a second.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

__all__ = ["PROBES", "observe"]

PROBES: dict[str, str] = {
    "plus_equals_from_threads": "Does `self.n += 1` from 4 threads × 50 000 lose updates?",
    "run_from_two_threads": "May two threads be inside session.run of one CPU session at once?",
}


def _plus_equals() -> str:
    from demos.shared_state import counters

    result = counters.count("+=", threads=4, increments=50_000, timeout_s=30.0)
    if result.lost == 0:
        return "loses no update (4 threads × 50000)"
    return "loses updates"


def _run_from_two_threads() -> str:
    from demos.harness import hammer
    from demos.models import tiny_encoder
    from demos.shared_state.trace import TracedSession

    tiny = tiny_encoder()
    session = TracedSession(tiny.session, threading.Barrier(2), 5.0)
    texts = [["the cat sat"], ["a dog ran on the mat today"]]
    expected = [tiny.session.run(["sentence_embedding"], tiny.feeds(t))[0] for t in texts]
    encoder = dataclasses.replace(tiny, session=session)
    result = hammer(lambda t, i: encoder.session.run(["sentence_embedding"],
                                                     encoder.feeds(texts[t]))[0],
                    2, 3, timeout_s=20.0, name="probe")
    if result.errors:
        error = result.errors[0]
        return f"raises {type(error).__name__}"
    right = all(np.allclose(c.value, expected[c.thread], atol=1e-5) for c in result.calls)
    if session.rendezvous != "met":
        return "runs never overlapped"
    return "both run at once, results right" if right else "both run at once, results wrong"


def observe() -> dict[str, str]:
    """Probe id -> the behaviour seen on this installation."""
    return {"plus_equals_from_threads": _plus_equals(),
            "run_from_two_threads": _run_from_two_threads()}
