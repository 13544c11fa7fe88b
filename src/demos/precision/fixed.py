"""Precision handled on purpose: a declared budget, checked, and accumulation done wide.

Every function here either returns an answer within its budget or raises an error that
names the element that broke it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from demos.precision.budget import as_numbers, check_budget, target_dtype, tolerance
from demos.precision.errors import PrecisionError
from demos.precision.quantized import quantize_bytes

__all__ = ["PrecisionError", "RunningMean", "quantize_int8", "softmax", "to_model_input"]


def to_model_input(
    values: npt.ArrayLike,
    dtype: npt.DTypeLike = "float32",
    *,
    rtol: float | None = None,
    atol: float = 0.0,
) -> npt.NDArray[np.floating]:
    """Convert request data (lists, float64 or int64 arrays) to the model's input dtype.

    Args:
        values: numbers, nested lists of numbers, or an array.
        dtype: the model's input dtype, ``"float32"`` or ``"float16"``.
        rtol, atol: the precision budget: each value may move by ``atol + rtol * |value|``.
            ``rtol`` defaults to the dtype's machine epsilon, so ordinary rounding passes.
            Integer-valued input gets no budget: it must fit the exact-integer range.

    Returns:
        A new array of ``dtype``.

    Raises:
        PrecisionError: a finite value overflowed, a value moved by more than the budget
            (underflow to zero included), or an integer exceeds ``2**(nmant + 1)``.
        TypeError: values are not real numbers. ValueError: bad dtype, budget or shape.
    """
    target = target_dtype(dtype)
    x = as_numbers(values, "values")
    rtol = float(np.finfo(target).eps) if rtol is None else tolerance("rtol", rtol)
    atol = tolerance("atol", atol)
    with np.errstate(over="ignore", under="ignore"):  # FIX: we check, so no stray warning
        out = x.astype(target)
    check_budget(x, out, rtol, atol)  # FIX: a budget, checked; the cast cannot be silent
    return out


class RunningMean:
    """The mean of a stream of batches, e.g. a score per request over a day of traffic.

    Concurrency: not thread-safe; one owner calls add(), or guard it with a lock.
    """

    def __init__(self) -> None:
        self._total = 0.0  # FIX: accumulate in float64, cast once at the end
        self._count = 0

    def add(self, batch: npt.ArrayLike) -> None:
        """Add one batch of values (any shape) to the stream."""
        values = as_numbers(batch, "batch")
        self._total += float(values.sum(dtype=np.float64))  # FIX: float64 sum, float64 total
        self._count += values.size

    @property
    def count(self) -> int:
        """How many values have been added."""
        return self._count

    def total(self) -> np.float32:
        """The sum of every value added so far."""
        return np.float32(self._total)

    def mean(self) -> np.float32:
        """The mean of every value added so far.

        Raises:
            ValueError: nothing has been added yet.
        """
        if self._count == 0:
            raise ValueError("mean needs at least 1 value, got 0: call add() first")
        return np.float32(self._total / self._count)


def softmax(logits: npt.ArrayLike, axis: int = -1) -> npt.NDArray[np.floating]:
    """Probabilities from logits along ``axis``, computed and returned in float32."""
    x = as_numbers(logits, "logits").astype(np.float32)  # FIX: never compute in float16
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim}), got {axis!r}")
    e = np.exp(x - x.max(axis=axis, keepdims=True))  # FIX: the largest exponent is 0
    return e / e.sum(axis=axis, keepdims=True)


def quantize_int8(model: bytes) -> bytes:
    """An ONNX model with int8 MatMul weights (``quantize_dynamic``), as bytes.

    Activations are quantized to uint8 at run time, per call, from their own range. Gate
    the result on a declared budget before serving it (``budget.check_embeddings``).
    """
    return quantize_bytes(model, per_channel=True)  # FIX: one scale per output channel
