"""PrecisionError: a cast lost more than its declared budget."""

from __future__ import annotations

__all__ = ["PrecisionError"]


class PrecisionError(ValueError):
    """Raised by a checked cast when a value overflows, underflows to zero, turns
    non-finite, or is rounded by more than the budget (integers: by anything at all).

    Attributes:
        index: where the worst element is, as an index tuple into the input.
        before: that element's value before the cast (a Python int or float).
        after: its value after the cast, widened exactly to a Python float.
        reason: ``"overflow"``, ``"underflow"``, ``"integer"`` or ``"rounding"`` for a cast;
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
