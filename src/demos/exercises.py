"""Verdicts for the chapters' exercises: something a reader reads and a test asserts.

Every exercise's check returns a :class:`Verdict`. In a notebook it shows as one line,
``passed: …`` or ``not yet: …``; in a test, ``assert verdict.passed`` (or
``verdict.raise_if_failed()``). A check never just prints, so a wrong answer is visible
outside the notebook's stored outputs too.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ExerciseFailedError", "Verdict", "check", "failed", "passed"]


class ExerciseFailedError(AssertionError):
    """Raised by Verdict.raise_if_failed() for an answer that does not pass yet."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking one exercise.

    Attributes:
        exercise: its number, e.g. ``"3.2"``.
        passed: True when the answer meets every requirement of the exercise.
        message: what was seen, e.g. ``"3 of 8 requests hung"``.
    """

    exercise: str
    passed: bool
    message: str

    def __str__(self) -> str:
        word = "passed" if self.passed else "not yet"
        return f"Exercise {self.exercise} — {word}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        colour = "#0072B2" if self.passed else "#D55E00"  # plotting.FIXED / BROKEN
        word = "passed" if self.passed else "not yet"
        return (
            f"<div style='border-left:4px solid {colour};padding:2px 8px'>"
            f"Exercise {html.escape(self.exercise)} — "
            f"<strong style='color:{colour}'>{word}</strong>: {html.escape(self.message)}</div>"
        )

    def raise_if_failed(self) -> Verdict:
        if not self.passed:
            raise ExerciseFailedError(str(self))
        return self


def passed(exercise: str, message: str) -> Verdict:
    return Verdict(exercise, True, message)


def failed(exercise: str, message: str) -> Verdict:
    return Verdict(exercise, False, message)


def check(exercise: str, attempt: Callable[[], Verdict]) -> Verdict:
    """Run ``attempt``; an exception from the reader's code is a ``not yet``, not a crash.

    The message names the exception, so the reader sees what went wrong without a
    traceback that points into the checker.
    """
    try:
        verdict: Any = attempt()
    except NotImplementedError as error:
        return failed(exercise, f"not implemented yet ({error or 'NotImplementedError'})")
    except Exception as error:  # the reader's code may raise anything
        return failed(exercise, f"your code raised {type(error).__name__}: {error}")
    if not isinstance(verdict, Verdict):
        raise TypeError(f"a check must return a Verdict, got {type(verdict).__name__}")
    return verdict
