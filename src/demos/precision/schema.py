"""What an input is, declared by the caller: the precision budget follows from it.

A cast cannot tell an id from a measurement by looking at the numbers: ``20000001.0`` is a
whole number whether it names a product or weighs a parcel, and a batch ``[0.5, 20000001.0]``
says nothing about what its second value means. So the caller says it, once per input, in a
:class:`Field`; a schema is a mapping of input name to :class:`Field`. The check then judges
each value by its field's kind alone, and a value gets the same verdict in any batch.

Kinds:

* ``"id"``: whole numbers that name something. Each must survive the cast exactly.
* ``"count"``: whole numbers >= 0 that count something. Each must survive exactly.
* ``"timestamp"``: a time in some unit (seconds, milliseconds). The dtype's spacing at each
  value's magnitude must not exceed the declared ``resolution`` (in the same unit).
* ``"real"``: a real-valued feature. Each value may move by ``atol + rtol * |value|``;
  ``rtol`` defaults to the dtype's machine epsilon, so ordinary rounding passes. NaN and
  infinity are refused: no feature value, and a model fed one returns NaN silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["KINDS", "Field", "Kind", "Schema"]

Kind = Literal["id", "count", "timestamp", "real"]
#: Every kind a field may declare.
KINDS: tuple[str, ...] = get_args(Kind)


@dataclass(frozen=True)
class Field:
    """The declaration of one input: its kind, and the budget parameters that kind takes.

    ``resolution`` belongs to ``"timestamp"`` only (and is required there); ``rtol`` and
    ``atol`` belong to ``"real"`` only. A parameter given to the wrong kind is an error,
    not ignored: a budget nobody checks is the silence this chapter is about.
    """

    kind: Kind
    resolution: float | None = None
    rtol: float | None = None
    atol: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            shown = ", ".join(repr(k) for k in KINDS)
            raise ValueError(f"kind must be one of {shown}, got {self.kind!r}")
        if self.kind == "timestamp":
            _number("resolution", self.resolution, positive=True,
                    why=" for kind 'timestamp' (the largest spacing allowed, in its unit)")
        elif self.resolution is not None:
            raise ValueError(f"resolution applies to kind 'timestamp' only, got "
                             f"resolution={self.resolution!r} for kind {self.kind!r}")
        if self.kind == "real":
            if self.rtol is not None:
                _number("rtol", self.rtol)
            _number("atol", self.atol)
        elif self.rtol is not None or self.atol != 0.0:
            raise ValueError(f"rtol and atol apply to kind 'real' only, got rtol={self.rtol!r}, "
                             f"atol={self.atol!r} for kind {self.kind!r}")


#: A request's declaration: input name -> what that input is.
Schema = dict[str, Field]


def _number(name: str, value: object, positive: bool = False, why: str = "") -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and (value > 0 if positive else value >= 0))
    if not ok:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}{why}, got {value!r}")
