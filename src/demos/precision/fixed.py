"""Precision handled on purpose: a declared kind and budget, checked, and sums done wide.

Every function here either returns an answer within its budget or raises an error that
names the element that broke it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

import numpy as np
import numpy.typing as npt

from demos.precision.budget import as_numbers, check_budget, target_dtype
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
        kind: what the values are, declared by the caller (see :mod:`.schema`): ``"id"``,
            ``"count"``, ``"timestamp"`` or ``"real"``. The budget follows from it, never
            from the values: each value gets the same verdict in any batch.
        name: the input's name, as errors show it.
        resolution: for ``"timestamp"``: the largest spacing allowed, in the values' unit.
        rtol, atol: for ``"real"``: each value may move by ``atol + rtol * |value|``;
            ``rtol`` defaults to the dtype's machine epsilon, so ordinary rounding passes.

    Returns:
        A new array of ``dtype``.

    Raises:
        PrecisionError: a value broke its kind's budget (see :func:`budget.check_budget`).
        TypeError: values are not real numbers. ValueError: bad dtype, declaration or shape.
    """
    field = Field(kind, resolution=resolution, rtol=rtol, atol=atol)  # the declaration, checked
    target = target_dtype(dtype)
    x = as_numbers(values, name, exact_ints=field.kind in ("id", "count"))  # FIX: as sent
    with np.errstate(over="ignore", under="ignore"):  # FIX: we check, so no stray warning
        out = x.astype(target)
    check_budget(x, out, field, name)  # FIX: the declared budget, checked; never silent
    return out


def to_model_inputs(
    request: Mapping[str, npt.ArrayLike], schema: Mapping[str, Field],
    dtype: npt.DTypeLike = "float32",
) -> dict[str, npt.NDArray[np.floating]]:
    """Convert every input of ``request`` under its declaration in ``schema``.

    Raises:
        ValueError: an input the schema does not declare, or a declared one missing.
        PrecisionError: as :func:`to_model_input`, naming the input.
    """
    undeclared, missing = sorted(set(request) - set(schema)), sorted(set(schema) - set(request))
    if undeclared or missing:  # FIX: no input is cast without a declaration
        raise ValueError(f"request must hold exactly the inputs {sorted(schema)}, got "
                         f"{sorted(request)} (undeclared: {undeclared}, missing: {missing})")
    return {name: to_model_input(values, dtype, name=name, **asdict(schema[name]))
            for name, values in request.items()}


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
    the result on a declared budget before serving it (``drift.check_embeddings``).
    """
    return quantize_bytes(model, per_channel=True)  # FIX: one scale per output channel
