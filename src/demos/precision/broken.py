"""Precision handled the usual way: cast to the model's dtype and hope.

Every function here returns an answer. None of them says when the answer is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from demos.precision.errors import PrecisionError
from demos.precision.quantized import quantize_bytes
from demos.precision.schema import Field, Kind

__all__ = ["Field", "PrecisionError", "RunningMean", "quantize_int8", "softmax",
           "to_model_input", "to_model_inputs"]


def to_model_input(
    values: npt.ArrayLike,
    dtype: npt.DTypeLike = "float32",
    *,
    kind: Kind,
    name: str = "values",
    resolution: float | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
) -> npt.NDArray[np.floating]:
    """Convert one input of a request (lists, float64 or int64 arrays) to the model's dtype.

    Args:
        values: numbers, nested lists of numbers, or an array.
        dtype: the model's input dtype, ``"float32"`` or ``"float16"``.
        kind, name, resolution, rtol, atol: what the values are and their budget
            (see :mod:`.schema`). Accepted, and never checked here.

    Returns:
        A new array of ``dtype``, whatever happened to the values on the way.
    """
    return np.asarray(values).astype(dtype)  # PITFALL: rounds, overflows, flushes in silence


def to_model_inputs(
    request: Mapping[str, npt.ArrayLike], schema: Mapping[str, Field],
    dtype: npt.DTypeLike = "float32",
) -> dict[str, npt.NDArray[np.floating]]:
    """Convert every input of ``request``; ``schema`` declares what each one is."""
    return {name: np.asarray(values).astype(dtype)  # PITFALL: the declarations go unread
            for name, values in request.items()}


class RunningMean:
    """The mean of a stream of batches, e.g. a score per request over a day of traffic.

    Concurrency: not thread-safe; one owner calls add().
    """

    def __init__(self) -> None:
        self._total = np.float32(0.0)  # PITFALL: the running total lives in the model's dtype
        self._count = 0

    def add(self, batch: npt.ArrayLike) -> None:
        """Add one batch of values (any shape) to the stream."""
        values = np.asarray(batch, dtype=np.float32)
        self._total += values.sum(dtype=np.float32)  # PITFALL: each add rounds to the total's ulp
        self._count += values.size

    @property
    def count(self) -> int:
        """How many values have been added."""
        return self._count

    def total(self) -> np.float32:
        """The sum of every value added so far."""
        return np.float32(self._total)

    def mean(self) -> np.float32:
        """The mean of every value added so far."""
        return np.float32(self._total / self._count)


def softmax(logits: npt.ArrayLike, axis: int = -1) -> npt.NDArray[np.floating]:
    """Probabilities from logits along ``axis``, in the logits' own dtype."""
    x = np.asarray(logits)
    e = np.exp(x)  # PITFALL: float16 exp overflows to inf at 11.09, float32 at 88.72
    return e / e.sum(axis=axis, keepdims=True)  # inf / inf = NaN


def quantize_int8(model: bytes) -> bytes:
    """An ONNX model with int8 MatMul weights (``quantize_dynamic``), as bytes.

    Activations are quantized to uint8 at run time, per call, from their own range.
    """
    return quantize_bytes(model, per_channel=False)  # PITFALL: one scale for a whole matrix
