"""The check behind exercise 1.5: int8 weights with one scale per row (per output channel).

Kept apart from :mod:`.exercises` (the chapter page's three checks) because it belongs to the
int8 depth page, ``01c_int8``. The matrices are seeded, so the verdict is the same every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from demos import exercises
from demos.exercises import Verdict

__all__ = ["ROW_CASES", "check_5", "quantize_rows"]


def _matrices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    spread = rng.normal(0.0, 0.05, size=(48, 32)).astype(np.float32)
    spread[::4] *= 20  # every fourth row is 20 times wider: one scale for all would not fit them
    outlier = rng.normal(0.0, 0.05, size=(16, 40)).astype(np.float32)
    outlier[3, 7] = 2.5  # one weight 50 times its row's spread
    zeros = rng.normal(0.0, 0.05, size=(8, 24)).astype(np.float32)
    zeros[5] = 0.0  # a row of zeros: its scale must not divide by zero
    return {"rows of different widths (48x32)": spread,
            "one large weight in row 3 (16x40)": outlier,
            "a row of zeros, row 5 (8x24)": zeros}


#: What the check quantizes, by name (seeded).
ROW_CASES: dict[str, np.ndarray] = _matrices()


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The right answer: ``q = rint(w / s)`` with ``s = max|row| / 127`` per row (1 for zeros)."""
    w = np.asarray(w, dtype=np.float32)
    top = np.abs(w).max(axis=1)
    scales = np.where(top > 0, top / 127, 1.0).astype(np.float32)
    return np.rint(w / scales[:, None]).astype(np.int8), scales


def _judge(name: str, w: np.ndarray, got: Any) -> str | None:
    """What is wrong with ``got`` for ``w``, in words; None when it is right."""
    if not (isinstance(got, tuple) and len(got) == 2):
        return f"{name}: expected (q, scales), got {type(got).__name__}"
    q, scales = np.asarray(got[0]), np.asarray(got[1], dtype=np.float64)
    if q.dtype != np.int8 or q.shape != w.shape:
        looks = (" (it holds the dequantised weights, q * scale: return the int8 codes)"
                 if q.shape == w.shape and q.dtype.kind == "f" and not np.allclose(q, np.rint(q))
                 else "")
        return f"{name}: q is {q.dtype} of shape {q.shape}, expected int8 of shape {w.shape}{looks}"
    if scales.shape != (w.shape[0],):
        return f"{name}: scales has shape {scales.shape}, expected one per row, ({w.shape[0]},)"
    if not np.all(np.isfinite(scales) & (scales > 0)):
        rows = np.flatnonzero(~(np.isfinite(scales) & (scales > 0)))
        return f"{name}: the scale of row {rows[0]} is {scales[rows[0]]}, expected finite and > 0"
    half_step = np.abs(w.astype(np.float64)).max(axis=1) / 127 / 2
    error = np.abs(q.astype(np.float64) * scales[:, None] - w).max(axis=1)
    off = np.flatnonzero(error > half_step * (1 + 1e-4) + 1e-12)
    if off.size:
        i = off[0]
        return (f"{name}: {off.size} of {w.shape[0]} rows off by more than half their own step; "
                f"row {i}: largest error {error[i]:.3g}, half its step {half_step[i]:.3g}; "
                f"{_diagnose(w, q, scales, i)}")
    return None


def _diagnose(w: np.ndarray, q: np.ndarray, scales: np.ndarray, i: int) -> str:
    """The likely mistake behind row ``i``'s error, named from its scale and its codes."""
    top = np.abs(w.astype(np.float64)).max(axis=1)
    if np.ptp(top) > 0 and np.ptp(scales) == 0:
        return "every row has the same scale: one scale for the whole matrix, not one per row"
    if top[i] == 0:
        return "a row of zeros must give codes of 0"
    ratio = scales[i] * 127 / top[i]
    if ratio < 1 - 1e-3:
        flipped = bool(np.any((np.sign(q[i]) * np.sign(w[i])) < 0))
        past = "wraps around to the other sign" if flipped else "is clipped"
        return (f"its scale is {ratio:.3g} x max|row| / 127, too small: its largest weight lands "
                f"past 127 and {past}")
    if ratio > 1 + 1e-3:
        return (f"its scale is {ratio:.3g} x max|row| / 127, too large: a coarser step than the "
                f"row needs")
    codes = w[i].astype(np.float64) / scales[i]
    if np.array_equal(q[i], np.trunc(codes).astype(np.int8)):
        return "its scale is right but q truncates toward zero: round with np.rint before astype"
    return "its scale is right but q is not w / scale rounded to the nearest integer"


def check_5(answer: Callable[[np.ndarray], Any]) -> Verdict:
    """Exercise 1.5: ``answer(w)`` returns ``(q, scales)``, int8 weights with one scale per row,
    each row's weights within half of that row's own step (its largest |weight| / 127).

    One scale for the whole matrix fails the rows of different widths; truncating instead of
    rounding is off by up to a whole step; a scale per column has the wrong shape; dividing by
    a zero row's scale gives a scale that is not > 0. A row off by more than half a step is
    diagnosed from its scale (one for all rows, too small so the largest weight wraps or is
    clipped, too large) or its codes (truncated, not rounded).
    """

    def attempt() -> Verdict:
        wrong = [why for name, w in ROW_CASES.items()
                 if (why := _judge(name, w, answer(w.copy()))) is not None]
        summary = f"{len(ROW_CASES) - len(wrong)} of {len(ROW_CASES)} matrices right"
        if wrong:
            return exercises.failed("1.5", f"{summary}; {'; '.join(wrong[:2])}")
        return exercises.passed("1.5", f"{summary}: every weight within half a step of its own "
                                       f"row, one scale per row")

    return exercises.check("1.5", attempt)
