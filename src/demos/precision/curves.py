"""The data behind the chapter's figures: round-trip error, surviving integers, drift."""

from __future__ import annotations

from collections.abc import Sequence

import ml_dtypes  # also registers "bfloat16" as a numpy dtype name
import numpy as np
import numpy.typing as npt

__all__ = ["accumulation_error", "cancelling_batches", "distinct_integers", "overflow_threshold",
           "roundtrip_error"]

Floats = npt.NDArray[np.float64]


def overflow_threshold(dtype: str) -> float:
    """The smallest float64 that becomes ``inf`` in ``dtype``: the largest finite value plus
    half a step (65520 for float16), computed in float64 so nothing overflows on the way."""
    info = ml_dtypes.finfo(np.dtype(dtype))
    step = 2.0 ** (info.maxexp - 1 - info.nmant)  # the spacing just below the largest value
    return float(info.max) + step / 2


def roundtrip_error(
    dtype: str, lo: float = 1e-50, hi: float = 1e40, bins: int = 1200, per_bin: int = 16,
    seed: int = 0,
) -> tuple[Floats, Floats]:
    """Worst relative error of ``float64 -> dtype -> float64`` in log-spaced magnitude bins.

    ``dtype`` is ``"float16"``, ``"bfloat16"`` (via ml_dtypes) or ``"float32"``.

    Returns ``(magnitudes, worst)``: each bin's lower edge and the worst error of
    ``per_bin`` seeded random values in it. A value that becomes inf counts as ``inf``; one
    that becomes 0 has error 1.
    """
    edges = np.geomspace(lo, hi, bins + 1)
    u = np.random.default_rng(seed).random((bins, per_bin))
    values = edges[:-1, None] * (edges[1:, None] / edges[:-1, None]) ** u
    with np.errstate(over="ignore", under="ignore"):
        back = values.astype(dtype).astype(np.float64)
    error = np.abs(back - values) / values
    error[~np.isfinite(back)] = np.inf
    return edges[:-1], error.max(axis=1)


def distinct_integers(dtype: str, starts: Sequence[int], window: int = 1000) -> Floats:
    """For each start, the fraction of ``window`` consecutive integers still distinct after a
    cast to ``dtype`` (an id that became inf or merged with its neighbour is lost)."""
    out = []
    for start in starts:
        ids = np.arange(int(start), int(start) + window, dtype=np.int64)
        with np.errstate(over="ignore"):
            cast = ids.astype(dtype).astype(np.float64)
        kept = np.unique(cast[np.isfinite(cast)]).size
        out.append(kept / window)
    return np.array(out)


def accumulation_error(lengths: Sequence[int], value: float = 0.1) -> dict[str, Floats]:
    """Relative error of three ways to sum ``n`` copies of float32 ``value``, for each n.

    "float32 running sum" adds one value at a time in float32 (``np.cumsum``, which is what
    a Python loop computes, only faster); "float32 pairwise" is ``np.sum`` in float32
    (pairwise summation, rounding error grows like log n); "float64 running sum" is the fix.
    """
    longest = int(max(lengths))
    stream = np.full(longest, value, dtype=np.float32)
    exact = float(np.float32(value))
    running32 = np.cumsum(stream, dtype=np.float32)
    running64 = np.cumsum(stream, dtype=np.float64)
    rows: dict[str, list[float]] = {"float32 running sum": [], "float32 pairwise (np.sum)": [],
                                    "float64 running sum": []}
    for n in lengths:
        truth = exact * n  # exact in float64 for n < 2**29: exact has 24 significant bits
        rows["float32 running sum"].append(abs(float(running32[n - 1]) - truth) / truth)
        pairwise = float(np.sum(stream[:n], dtype=np.float32))
        rows["float32 pairwise (np.sum)"].append(abs(pairwise - truth) / truth)
        rows["float64 running sum"].append(abs(float(running64[n - 1]) - truth) / truth)
    return {k: np.array(v) for k, v in rows.items()}


def cancelling_batches(
    batches: int = 100, size: int = 10_000, mean: float = 0.01, swing: float = 1e4,
    seed: int = 0,
) -> list[npt.NDArray[np.float32]]:
    """Seeded float32 batches whose values cancel, e.g. a day of signed score changes.

    Each batch holds ``size // 2`` normal values of scale ``swing`` and their negations,
    shuffled, each shifted by ``mean``: the batch's exact sum (about ``mean * size``) is tiny
    beside its values. A float32 sum of one batch rounds its partial sums to their own ulp,
    about ``swing * 1e-7``, and loses the digits the true sum is made of; a float64 sum keeps
    them. This is the data that tells a float64 per-batch sum from a float32 one.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batches):
        half = rng.normal(0.0, swing, size // 2)
        out.append((rng.permutation(np.concatenate([half, -half])) + mean).astype(np.float32))
    return out
