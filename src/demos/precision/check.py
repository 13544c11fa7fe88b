"""One check's record, and the rule that turns what a check measured into its verdict.

Kept apart from :mod:`.scenario`, which decides what is checked and on which inputs, so
the one rule every check is judged by reads in one place: a check that raised is *loud*
(a *false alarm* on ordinary data); one that returned is *ok* within its budget and
*silent* past it. :mod:`.scenario` re-exports :class:`Check`, the type its ``checks``
returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Check", "Verdict", "attempt"]

Verdict = Literal["ok", "silent", "loud", "false alarm"]


@dataclass(frozen=True, slots=True)
class Check:
    """One hazard and what an implementation did with it."""

    name: str
    verdict: Verdict
    error: float  # the measured error (relative, or absolute for softmax); nan if it raised
    detail: str  # one line: what came out, or the exception's message
    count: int = 0  # values hit: became inf, became 0, ids merged, probabilities not finite
    budget: float = math.nan  # the error this check allows (same unit as ``error``)


def attempt(name: str, job: Any, budget: float, ordinary: bool = False) -> Check:
    """Run ``job`` (it returns ``(error, detail, count)``) and judge it against ``budget``."""
    try:
        error, detail, count = job()
    except Exception as exc:  # any exception is loud: the verdict records it
        verdict: Verdict = "false alarm" if ordinary else "loud"
        return Check(name, verdict, math.nan, f"{type(exc).__name__}: {exc}", budget=budget)
    return Check(name, "silent" if not error <= budget else "ok", error, detail, count, budget)
