"""The checks ``fixed.ModelContract.feeds`` makes before the run, one question each.

:func:`check_names` asks whether every name is known, every required input present and
every default left out on purpose; :func:`check_array` asks whether one array matches what
the session declares for it. Each raises a :class:`ContractError` that names the input,
what the model expects and what it got, so the caller never meets onnxruntime's words.
They live apart from ``fixed.py`` so that the chapter can list each one on its own, next
to the mistakes it catches.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from demos.input_contract.signature import ContractError, Signature, TensorSpec

__all__ = ["check_array", "check_names", "did_you_mean"]


def check_names(signature: Signature, arrays: Mapping[str, Any],
                use_defaults: Collection[str]) -> None:
    """Every name known, every required input present, every default asked for."""
    specs = {s.name: s for s in signature.feedable}
    expected = ", ".join(specs)
    for name in [*arrays, *use_defaults]:  # FIX: a wrong name is named, with a suggestion
        if name not in specs:
            raise ContractError(f"unknown input {name!r}{did_you_mean(name, specs)}; "
                                f"expected inputs: {expected}")
    for spec in signature.inputs:
        if spec.name not in arrays:
            raise ContractError(f"missing input {spec.name!r}; expected inputs: {expected}")
    for spec in signature.defaults:  # FIX: a default is taken only when asked for
        if spec.name not in arrays and spec.name not in use_defaults:
            raise ContractError(
                f"input {spec.name!r} was left out and would silently take the model's "
                f"default; pass it, or accept the default with use_defaults=[{spec.name!r}]")


def check_array(spec: TensorSpec, array: npt.NDArray[Any], bound: dict[str, tuple[str, int]],
                ) -> npt.NDArray[Any]:
    """``array`` if it matches ``spec``; binds each named dynamic dim on first sight."""
    name, shape = spec.name, spec.shape_text
    if spec.dtype != np.dtype(object) and array.dtype != spec.dtype:  # FIX: never cast silently
        how = ("lossless here: cast it with .astype" if np.can_cast(array.dtype, spec.dtype)
               else "casting would lose information: convert it on purpose")
        raise ContractError(f"input {name!r} must be {spec.dtype}, got {array.dtype} ({how})")
    if array.ndim != len(spec.shape):
        raise ContractError(f"input {name!r} must have rank {len(spec.shape)} {shape}, "
                            f"got shape {array.shape}")
    for axis, (dim, size) in enumerate(zip(spec.shape, array.shape, strict=True)):
        if isinstance(dim, int) and size != dim:
            raise ContractError(f"input {name!r} axis {axis} must be {dim} {shape}, "
                                f"got shape {array.shape}")
        if isinstance(dim, str):  # FIX: shared dynamic dims must agree before the run
            first, first_size = bound.setdefault(dim, (name, size))
            if size != first_size:
                raise ContractError(f"inputs disagree on dimension {dim!r}: {first!r} has "
                                    f"{first_size}, {name!r} has {size}")
    return array


def did_you_mean(name: str, valid: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``valid`` to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
