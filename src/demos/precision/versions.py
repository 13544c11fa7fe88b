"""Chapter 1's version-dependent claims, observed on this installation (for demos.compat).

Each probe runs the behaviour and says what happened, in a few stable words; nothing here
compares a version number with a constant. All probes together take well under a second.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PROBES", "observe"]

PROBES: dict[str, str] = {
    "float32_scalar_times_python_float":
        "What dtype does np.float32(3) * 3.0 have (NEP 50: numpy 2 keeps float32)?",
    "float32_array_plus_float64_scalar":
        "What dtype does a float32 array + np.float64(0.1) have (numpy 1.x value-based casting "
        "kept float32)?",
    "float32_array_times_python_float":
        "What dtype does a float32 array * 0.1 have?",
    "uint8_array_plus_300":
        "What does np.array([1], np.uint8) + 300 do (numpy 1.x: uint16; NEP 50: raises)?",
    "float32_sum_rounding":
        "Is np.sum over 10**6 float32 values of 0.1 pairwise (error near 1e-7) or a running sum?",
    "float32_cumsum_rounding":
        "Does np.cumsum in float32 round each addition to the running total (error > 1e-4)?",
    "astype_same_value":
        "Does astype(float32, casting='same_value') refuse a value the cast would change?",
    "onnxruntime_float16_mul_on_cpu":
        "Does onnxruntime's CPU provider run a float16 Mul/Div natively or insert Casts to "
        "float32?",
    "onnxruntime_float16_matmul_on_cpu":
        "Does onnxruntime's CPU provider run a float16 MatMul natively or insert Casts?",
    "onnxruntime_float64_feed":
        "Does onnxruntime refuse a float64 array fed to a float32 input?",
    "onnxruntime_list_feed":
        "Does onnxruntime convert a Python list fed to a float32 input, silently?",
}


def _dtype_of(job) -> str:  # type: ignore[no-untyped-def]
    try:
        with np.errstate(all="ignore"):
            return f"gives {np.asarray(job()).dtype}"
    except Exception as error:  # the behaviour observed is the exception
        return f"raises {type(error).__name__}"


def _sum_rounding(dtype_sum: bool) -> str:
    stream = np.full(1_000_000, 0.1, dtype=np.float32)
    exact = float(np.float32(0.1)) * stream.size
    got = float(np.sum(stream) if dtype_sum else np.cumsum(stream)[-1])
    error = abs(got - exact) / exact
    if error < 1e-6:
        return "error below 1e-6: pairwise or wider"
    return f"error above 1e-6: a float32 running sum (about {error:.0e})"


def _same_value() -> str:
    try:
        np.array([0.1]).astype(np.float32, casting="same_value")  # type: ignore[call-overload]
    except ValueError as error:
        if "same_value" in str(error) and "could not cast" in str(error):
            return "refuses 0.1 with ValueError"
        return "casting='same_value' unknown (ValueError)"
    return "accepts 0.1 (no value check)"


def _ort_float16() -> str:
    from demos.precision import graphs

    ops = graphs.ops_after_loading("float16")
    (y,) = graphs.square_then_divide("float16").run(None, {"x": np.array([300.0], np.float16)})
    if "Cast" in ops:
        return f"inserts Casts: computed in float32 (300*300/300 = {float(y[0]):g})"
    return f"runs float16 natively (300*300/300 = {float(y[0]):g})"


def _ort_float16_matmul() -> str:
    from demos.precision import graphs

    ops = [node.op_type for node in graphs.optimized_graph(graphs.matmul_bytes("float16")).node]
    if "Cast" in ops:
        return "inserts Casts: computed in float32"
    return "runs float16 natively"


def _ort_float64() -> str:
    from demos.precision import graphs

    try:
        graphs.square_then_divide("float32").run(None, {"x": np.array([1.0])})
    except Exception as error:
        return f"raises {type(error).__name__}"
    return "accepts float64 (converts it)"


def _ort_list() -> str:
    from demos.precision import graphs

    try:
        (y,) = graphs.square_then_divide("float32").run(None, {"x": [0.1, 16777217.0]})
    except Exception as error:
        return f"raises {type(error).__name__}"
    return f"converts to {y.dtype} silently (16777217 -> {int(y[1])})"


def observe() -> dict[str, str]:
    """Probe id -> the behaviour seen on this installation."""
    return {
        "float32_scalar_times_python_float": _dtype_of(lambda: np.float32(3) * 3.0),
        "float32_array_plus_float64_scalar":
            _dtype_of(lambda: np.ones(2, np.float32) + np.float64(0.1)),
        "float32_array_times_python_float": _dtype_of(lambda: np.ones(2, np.float32) * 0.1),
        "uint8_array_plus_300": _dtype_of(lambda: np.array([1], np.uint8) + 300),
        "float32_sum_rounding": _sum_rounding(dtype_sum=True),
        "float32_cumsum_rounding": _sum_rounding(dtype_sum=False),
        "astype_same_value": _same_value(),
        "onnxruntime_float16_mul_on_cpu": _ort_float16(),
        "onnxruntime_float16_matmul_on_cpu": _ort_float16_matmul(),
        "onnxruntime_float64_feed": _ort_float64(),
        "onnxruntime_list_feed": _ort_list(),
    }
