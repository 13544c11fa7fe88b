"""What every scenario repeats: checking its knobs and naming the implementation it runs.

One home, so that every chapter's ``scenario.run`` rejects a bad knob with the same kind of
message (the knob, the expected value, the value received) and labels its Report the same
way, and a new chapter does not copy these helpers a seventh time.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

__all__ = ["choice", "impl_name", "integer", "seconds"]


def impl_name(impl: Any) -> str:
    """The label a Report carries: ``impl.NAME`` if set, else the module's last name part.

    ``demos.batching.fixed`` → ``"fixed"``; a reader's ``SimpleNamespace`` without a name
    is ``"yours"``.
    """
    name = getattr(impl, "NAME", None) or getattr(impl, "__name__", None) or "yours"
    return str(name).rsplit(".", 1)[-1]


def integer(name: str, value: Any, *, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int in ``[low, high]``; else ValueError naming the knob.

    bool is refused although it is an int subclass: ``threads=True`` is a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
        high is not None and value > high
    ):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be an int {bound}, got {value!r}")
    return value


def seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as float seconds if finite and > 0 (>= 0 with allow_zero); else ValueError."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} (seconds), got {value!r}")
    return float(value)


def choice(name: str, value: Any, options: Collection[str]) -> str:
    """``value`` if it is one of ``options``; else ValueError listing them."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
