"""PrecisionError: a cast lost more than its declared budget."""

from __future__ import annotations

__all__ = ["PrecisionError"]


class PrecisionError(ValueError):
    """Raised by a checked cast when a value breaks the budget of its declared kind: it
    overflows, underflows to zero or is rounded past the budget (``"real"``), is not kept
    exactly or is not a whole number (``"id"``, ``"count"``), or lands where the dtype's
    spacing is coarser than the declared resolution (``"timestamp"``).

    Attributes:
        index: where the worst element is, as an index tuple into the input.
        before: that element's value before the cast (a Python int or float).
        after: its value after the cast, widened exactly to a Python float.
        reason: for a cast, ``"overflow"``, ``"underflow"``, ``"rounding"``, ``"inexact"``,
            ``"not whole"``, ``"negative"``, ``"not finite"`` or ``"resolution"``;
            ``"embedding"`` or ``"ranking"`` for a model's budget (``drift.check_embeddings``).
    """

    def __init__(
        self, message: str, *, index: tuple[int, ...], before: float, after: float, reason: str
    ) -> None:
        super().__init__(message)
        self.index = index
        self.before = before
        self.after = after
        self.reason = reason
