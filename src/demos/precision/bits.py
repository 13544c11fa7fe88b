"""A float's bits, spelled out: sign · exponent · mantissa, for the chapter's explorer."""

from __future__ import annotations

import numpy as np

__all__ = ["describe"]

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def describe(value: float, dtype: str) -> str:
    """How ``value`` is stored in ``dtype`` (float16, float32 or float64): four lines."""
    kind = np.dtype(dtype)
    if kind.kind != "f" or kind.itemsize not in _UINT:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}")
    with np.errstate(over="ignore", under="ignore"):
        stored = np.array([value], dtype=np.float64).astype(kind)
    info = np.finfo(kind)
    raw = int(stored.view(_UINT[kind.itemsize])[0])
    width = 8 * kind.itemsize
    text = format(raw, f"0{width}b")
    n_exp = width - 1 - info.nmant
    sign, exponent, mantissa = text[0], text[1 : 1 + n_exp], text[1 + n_exp :]
    back = float(stored[0])
    if np.isfinite(back) and value != 0:
        error = f"{abs(back - value) / abs(value):.3g} relative ({abs(back - value):.3g} absolute)"
    elif np.isfinite(back):
        error = "0"
    else:
        error = "not finite: the value is gone"
    return "\n".join([
        f"typed     {value!r}",
        f"stored    {back!r}  ({dtype})",
        f"bits      {sign} · {exponent} · {mantissa}   (sign · exponent · mantissa)",
        f"error     {error}",
    ])
