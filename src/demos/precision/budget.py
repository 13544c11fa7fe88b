"""The checks behind fixed.py: which dtypes, which inputs, and each declared kind's budget."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from demos.precision.errors import PrecisionError
from demos.precision.schema import Field

__all__ = ["as_numbers", "check_budget", "target_dtype"]

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


def as_numbers(values: npt.ArrayLike, name: str, exact_ints: bool = False) -> np.ndarray:
    """``values`` as a numeric array; with ``exact_ints``, refuse a Python int it changed.

    ``np.asarray`` reads ``[9007199254740993, 2.0]`` or ``[-1, 2**63 + 1]`` as float64,
    rounding the int before any check could see it: its verdict would hang on its neighbours.
    """
    try:
        x = np.asarray(values)
        items = None if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    except ValueError:
        raise ValueError(f"{name} must be rectangular, got a ragged sequence") from None
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {x.dtype}")
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"{name} must hold at least 1 value, got shape {x.shape}")
    if exact_ints and items is not None and x.dtype.kind == "f":
        _refuse_changed_ints(items, x, name)
    return x


def _refuse_changed_ints(items: np.ndarray, x: np.ndarray, name: str) -> None:
    for flat, v in enumerate(items.flat):
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            read = x.flat[flat].item()
            if not np.isfinite(read) or int(read) != int(v):
                index = tuple(int(i) for i in np.unravel_index(flat, x.shape))
                raise PrecisionError(
                    f"{name}[{', '.join(map(str, index))}] = {int(v)!r} refused (inexact: "
                    f"read as {read!r}, because its neighbours made the list {x.dtype}; "
                    f"send whole numbers as ints only, or as an int64 array)",
                    index=index, before=int(v), after=float(read), reason="inexact")


def check_budget(x: np.ndarray, out: np.ndarray, field: Field, name: str) -> None:
    """Raise PrecisionError, naming an element of ``name``, if ``out`` broke ``field``'s budget.

    Each value is judged on its own, by the declared kind alone, never by its neighbours:
    ``"id"`` and ``"count"`` must be finite whole numbers (counts >= 0) that the cast keeps
    exactly; a ``"timestamp"`` must stay finite with the dtype's spacing at its magnitude at
    most ``field.resolution``; a ``"real"`` value may move by ``atol + rtol * |value|``
    (underflow to zero is a move of the whole value), must be finite and must stay finite.
    """
    info = np.finfo(out.dtype)
    wide = x.astype(np.float64)
    back = out.astype(np.float64)
    finite = np.isfinite(wide)
    with np.errstate(invalid="ignore"):  # inf - inf: a non-finite input stays as it was
        error = np.abs(back - wide)
    reasons = np.full(x.shape, "", dtype=object)
    score = np.zeros(x.shape)  # > 0: over budget; the largest is named
    if field.kind == "real":
        rtol = float(info.eps) if field.rtol is None else float(field.rtol)
        allowed = field.atol + rtol * np.abs(wide)
        over = finite & (error > allowed)
        score = np.where(over, error / np.maximum(allowed, 1e-300), 0.0)
        reasons[over] = np.where(back[over] == 0.0, "underflow", "rounding")
        reasons[~finite] = "not finite"  # nan or inf is no feature value: refused, named
        score = np.where(finite, score, 1.0)
    else:
        whole = _whole(x, wide)
        with np.errstate(invalid="ignore"):  # the spacing of inf is nan: overflow, below
            gap = np.spacing(np.abs(out)).astype(np.float64)
        bad = {
            "inexact": ~_exact(x, out) if field.kind != "timestamp" else np.zeros(x.shape, bool),
            "resolution": gap > field.resolution if field.kind == "timestamp" else False,
            "negative": (wide < 0) if field.kind == "count" else False,
            "not whole": finite & ~whole if field.kind != "timestamp" else False,
            "not finite": ~finite,
        }
        for reason, mask in bad.items():  # the last match wins: the most basic reason shown
            reasons[np.asarray(mask, dtype=bool)] = reason
        score = (reasons != "").astype(np.float64)
    overflow = finite & ~np.isfinite(back)
    reasons[overflow] = "overflow"
    score = np.where(overflow, np.inf, score)
    if not np.any(score > 0):
        return
    flat = int(np.argmax(score))
    index = tuple(int(i) for i in np.unravel_index(flat, x.shape))
    before, after, reason = x.flat[flat].item(), float(out.flat[flat]), str(reasons.flat[flat])
    note = _note(reason, field, out.dtype, float(error.flat[flat]), before, after)
    where = f"{name}[{', '.join(map(str, index))}] = {before!r}"
    what = (f"refused ({reason}: {note})" if reason in ("not whole", "negative", "not finite")
            else f"became {after!r} in {out.dtype} ({reason}: {note})")
    raise PrecisionError(
        f"{where} {what}; {int(np.count_nonzero(score))} of {x.size} values over budget",
        index=index, before=before, after=after, reason=reason,
    )


def _note(reason: str, field: Field, dtype: np.dtype, err: float, before: float,
          after: float) -> str:
    info = np.finfo(dtype)
    kind = f"kind {field.kind!r} expects"
    with np.errstate(invalid="ignore"):
        gap = float(np.spacing(np.abs(np.asarray(after, dtype=dtype))))
    if reason == "overflow":
        return f"{dtype}'s largest finite value is {float(info.max)!r}"
    if reason in ("rounding", "underflow"):
        rtol = float(info.eps) if field.rtol is None else float(field.rtol)
        return (f"off by {err:.3g} = {100 * err / abs(before):.3g}% of it; budget is "
                f"atol={field.atol:g} + rtol={rtol:.3g} × |value|")
    if reason == "inexact":
        exact = 2 ** (info.nmant + 1)
        return (f"{kind} every value kept exactly; {dtype} holds every whole number only up "
                f"to 2**{info.nmant + 1} = {exact}, and is {gap:g} apart here")
    if reason == "resolution":
        return (f"{kind} a spacing of at most {field.resolution:g} (its declared "
                f"resolution); {dtype} values are {gap:g} apart here")
    if reason == "not whole":
        return f"{kind} whole numbers, got a fraction"
    if reason == "negative":
        return f"{kind} numbers >= 0"
    return f"{kind} finite numbers"


def _whole(x: np.ndarray, wide: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "biu":
        return np.ones(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return wide == np.round(wide)


def _exact(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Per element: did the cast keep the value exactly? Integers compared as integers."""
    back = out.astype(np.float64)
    if x.dtype.kind not in "biu":
        return back == x.astype(np.float64)
    fits = np.isfinite(back) & (np.abs(back) < 2.0**63)
    same = np.zeros(x.shape, dtype=bool)
    same[fits] = back[fits].astype(np.int64) == x[fits].astype(np.int64)
    if x.dtype.kind == "u":  # values past int64 wrapped above: never equal to a fit
        same &= x.astype(np.uint64) < np.uint64(2**63)
    return same

