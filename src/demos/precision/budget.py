"""The checks behind fixed.py: which dtypes, which inputs, and the precision budget."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from demos.precision.errors import PrecisionError

__all__ = ["as_numbers", "check_budget", "target_dtype", "tolerance"]

#: The input dtypes a model in this book takes for real-valued tensors.
TARGETS = (np.dtype(np.float32), np.dtype(np.float16))


def target_dtype(dtype: npt.DTypeLike) -> np.dtype:
    try:
        target = np.dtype(dtype)
    except TypeError:
        target = None
    if target not in TARGETS:
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    return target


def as_numbers(values: npt.ArrayLike, name: str) -> np.ndarray:
    try:
        x = np.asarray(values)
    except ValueError:
        raise ValueError(f"{name} must be rectangular, got a ragged sequence") from None
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {x.dtype}")
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"{name} must hold at least 1 value, got shape {x.shape}")
    return x


def tolerance(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_budget(x: np.ndarray, out: np.ndarray, rtol: float, atol: float) -> None:
    """Raise PrecisionError, naming the worst element, if ``out`` broke the budget for ``x``.

    The budget: a finite value must stay finite; an integer-valued ``x`` must stay within
    ``2**(nmant + 1)`` (beyond it neighbouring integers merge); any other value may move by
    at most ``atol + rtol * |value|``. Underflow to zero is a move of the whole value.
    """
    info = np.finfo(out.dtype)
    exact = 2 ** (info.nmant + 1)  # every integer up to this is exact; beyond, gaps of 2, 4…
    wide = x.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: a non-finite input stays as it was
        error = np.abs(out.astype(np.float64) - wide)
    finite = np.isfinite(wide)
    overflow = finite & ~np.isfinite(out)
    if _integer_valued(x, wide):
        # Worst: an id that changed (the largest change), else the first id out of range.
        score = np.where(np.abs(wide) > exact, 1.0 + error, 0.0)
        note = f"above 2**{info.nmant + 1} = {exact}, {out.dtype} integers are {{gap:g}} apart"
    else:
        allowed = atol + rtol * np.abs(wide)
        score = np.where(finite & (error > allowed), error / np.maximum(allowed, 1e-300), 0.0)
        note = f"budget is atol={atol:g} + rtol={rtol:.3g} × |value|"
    score = np.where(overflow, np.inf, score)
    if not np.any(score > 0):
        return
    flat = int(np.argmax(score))
    index = tuple(int(i) for i in np.unravel_index(flat, x.shape))
    before, after = x.flat[flat].item(), float(out.flat[flat])
    if math.isinf(after):
        reason, note = "overflow", f"{out.dtype}'s largest finite value is {float(info.max)!r}"
    elif note.startswith("budget"):
        err = float(error.flat[flat])
        reason = "underflow" if after == 0.0 else "rounding"
        note = f"off by {err:.3g} = {100 * err / abs(before):.3g}% of it; {note}"
    else:
        reason, note = "integer", note.format(gap=float(np.spacing(np.abs(out.flat[flat]))))
    where = ", ".join(map(str, index))
    raise PrecisionError(
        f"values[{where}] = {before!r} became {after!r} in {out.dtype} ({reason}: {note}); "
        f"{int(np.count_nonzero(score))} of {x.size} values over budget",
        index=index, before=before, after=after, reason=reason,
    )


def _integer_valued(x: np.ndarray, wide: np.ndarray) -> bool:
    """Integer dtypes, or floats that are all whole numbers below 2**53 (ids, timestamps)."""
    if x.dtype.kind in "biu":
        return True
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(wide) < 2.0**53) and np.all(wide == np.round(wide)))
