"""Drive an implementation through every precision hazard and report what went wrong silently.

Seven checks, the same inputs for every implementation: five casts of request data to the
model's dtype (ordinary values, which must pass; a value past the largest finite; one below
the smallest subnormal; a subnormal; eight integer ids around ``2**(nmant + 1)``), a running
mean over a stream of batches, and a softmax with one large logit per row. With
``int8=True`` an eighth: the real MiniLM quantized by ``impl.quantize_int8`` must keep every
one of the chapter's 48 texts within :data:`INT8_COSINE_BUDGET` of its float32 embedding.

A check is *silent* when the implementation returned without an exception and the answer
is off by more than the budget; *loud* when it raised (the fix's way to fail); *ok* when it
returned an answer within budget. A loud check on ordinary data is a *false alarm*.
"""

from __future__ import annotations

import math
import warnings
from types import ModuleType
from typing import Any

import numpy as np

from demos import knobs
from demos.harness import bounded
from demos.precision.check import Check, attempt
from demos.precision.timing import bench
from demos.report import Report

__all__ = ["ACCUMULATE_RTOL", "INT8_COSINE_BUDGET", "SOFTMAX_ATOL", "Check", "bench", "checks",
           "hazards", "run"]

#: A running mean must match the exact mean of its (float32) inputs to this relative error.
ACCUMULATE_RTOL = 1e-6
#: Softmax probabilities must match a float64 softmax of the same logits to this.
SOFTMAX_ATOL = 1e-5
#: An int8 model must keep each text's embedding within this of float32's: 1 - cos <= this
#: (the budget the chapter's gate, ``drift.check_embeddings``, declares).
INT8_COSINE_BUDGET = 0.02

def hazards(dtype: str = "float16", seed: int = 0) -> dict[str, np.ndarray]:
    """The cast checks' inputs for ``dtype``: float64 or int64 arrays, as requests bring them."""
    info = np.finfo(_dtype(dtype))
    top = 2 ** (info.nmant + 1)
    rng = np.random.default_rng(seed)
    return {
        "rounding": rng.normal(0.0, 10.0, size=64),
        "overflow": np.array([1.0, float(info.max) * 2]),
        "underflow": np.array([1.0, float(info.smallest_subnormal) / 4]),
        "subnormal": np.array([1.0, float(info.smallest_normal) / 100]),
        "integers": np.arange(top - 2, top + 6, dtype=np.int64),
    }


def checks(
    impl: ModuleType,
    *,
    dtype: str = "float16",
    stream_length: int = 1_000_000,
    batch_size: int = 16,
    value: float = 0.1,
    max_logit: float | None = None,
    seed: int = 0,
    int8: bool = False,
) -> list[Check]:
    """Run every check against ``impl`` (a module with the names broken/fixed export)."""
    target = _dtype(dtype)
    knobs.integer("stream_length", stream_length)
    knobs.integer("batch_size", batch_size)
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value != 0):
        raise ValueError(f"value must be a finite non-zero number, got {value!r}")
    eps = float(np.finfo(target).eps)
    found = [_cast(impl, name, x, target, eps) for name, x in hazards(dtype, seed).items()]

    def accumulate() -> tuple[float, str, int]:
        mean = impl.RunningMean()
        batch = np.full(batch_size, value, dtype=np.float32)
        for _ in range(stream_length // batch_size):
            mean.add(batch)
        if stream_length % batch_size:
            mean.add(batch[: stream_length % batch_size])
        exact = float(np.float32(value))
        got = float(mean.mean())
        error = abs(got - exact) / abs(exact)
        return error, f"mean of {stream_length:,} × {exact:.8g} = {got!r}", stream_length

    found.append(attempt("accumulate", accumulate, ACCUMULATE_RTOL))

    def soft() -> tuple[float, str, int]:
        info = np.finfo(target)
        top = math.ceil(math.log(float(info.max))) if max_logit is None else max_logit
        logits = np.random.default_rng(seed).normal(0.0, 2.0, size=(8, 16))
        logits[:, 0] = top
        logits = logits.astype(target)
        exact = np.exp(logits.astype(np.float64) - top)
        exact /= exact.sum(axis=-1, keepdims=True)
        got = np.asarray(impl.softmax(logits), dtype=np.float64)
        nans = int(np.count_nonzero(~np.isfinite(got)))
        error = math.inf if nans else float(np.max(np.abs(got - exact)))
        return error, f"max logit {top:g}: {nans} of {got.size} probabilities not finite", nans

    found.append(attempt("softmax", soft, SOFTMAX_ATOL))
    if not isinstance(int8, bool):
        raise ValueError(f"int8 must be True or False, got {int8!r}")
    if int8:
        found.append(attempt("int8", lambda: _int8_drift(impl), INT8_COSINE_BUDGET))
    return found


def _int8_drift(impl: ModuleType) -> tuple[float, str, int]:
    """Worst 1 - cos over the chapter's texts, int8 (``impl.quantize_int8``) vs float32."""
    from demos.models import load_encoder
    from demos.precision import drift, quantized
    from demos.precision.sentences import SENTENCES

    texts = list(SENTENCES)
    found = drift.compare(load_encoder().encode(texts),
                          quantized.load_int8_encoder(impl).encode(texts))
    over = int(np.count_nonzero(found.cosine_change > INT8_COSINE_BUDGET))
    worst = float(np.max(found.cosine_change))
    return worst, f"worst text 1 - cos = {worst:.2g}; {over} of {len(texts)} over budget", over


def run(impl: ModuleType, *, timeout_s: float = 60.0, **options: Any) -> Report:
    """Run :func:`checks` under a time bound; manifested when any check went silently wrong.

    Knobs: ``dtype`` ("float16" or "float32"), ``stream_length``, ``batch_size``, ``value``,
    ``max_logit``, ``seed``, ``int8`` (add the quantized real model); see :func:`checks`.
    """
    name = knobs.impl_name(impl)
    timeout_s = knobs.seconds("timeout_s", timeout_s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)  # count every one, not the first
        outcome = bounded(checks, timeout_s, impl, name=f"precision-{name}", **options)
    if outcome.hung:
        return Report("precision", name, True, f"hung for {timeout_s:g} s", {"hung": True})
    found: list[Check] = outcome.unwrap()
    by = {c.name: c for c in found}
    count = {v: sum(c.verdict == v for c in found) for v in ("silent", "loud", "ok", "false alarm")}
    silent = [c.name for c in found if c.verdict == "silent"]
    metrics: dict[str, float | int | bool | str] = {
        "silent_checks": count["silent"],
        "loud_checks": count["loud"],
        "ok_checks": count["ok"],
        "false_alarms": count["false alarm"],
        "max_rel_error": max((c.error for c in found[:5] if c.verdict == "silent"), default=0.0),
        "inf_count": by["overflow"].count,
        "zeroed": by["underflow"].count,
        "collisions": by["integers"].count,
        "nan_count": by["softmax"].count,
        "accumulate_rel_error": by["accumulate"].error,
        "softmax_max_abs_error": by["softmax"].error,
        "runtime_warnings": sum(issubclass(w.category, RuntimeWarning) for w in caught),
    }
    if "int8" in by:
        metrics["int8_max_cosine_change"] = by["int8"].error
    if silent:
        headline = f"{len(silent)} of {len(found)} checks wrong in silence: {', '.join(silent)}"
    else:
        headline = (f"no silent errors: {count['loud']} refused loudly, {count['ok']} within "
                    f"budget, {count['false alarm']} false alarms")
    return Report("precision", name, bool(silent), headline, metrics)


def _cast(impl: ModuleType, name: str, x: np.ndarray, target: np.dtype, eps: float) -> Check:
    def cast() -> tuple[float, str, int]:
        kind = "id" if name == "integers" else "real"  # declared, as a caller would
        back = np.asarray(impl.to_model_input(x, target.name, kind=kind)).astype(np.float64)
        wide = x.astype(np.float64)
        if name == "integers":  # ids must be kept exactly: any change is an error
            merged = x.size - np.unique(back).size
            changed = int(np.count_nonzero(back != wide))
            return (math.inf if changed else 0.0), f"{x.size} ids became {x.size - merged}", merged
        infs = int(np.count_nonzero(~np.isfinite(back)))
        if infs:
            return math.inf, f"{infs} of {x.size} values became inf", infs
        error = float(np.max(np.abs(back - wide) / np.abs(wide)))
        zeros = int(np.count_nonzero((back == 0) & (wide != 0)))
        return error, f"max relative error {error:.3g}" + f", {zeros} became 0" * bool(zeros), zeros

    return attempt(name, cast, eps, ordinary=(name == "rounding"))


def _dtype(dtype: str) -> np.dtype:
    return np.dtype(knobs.choice("dtype", dtype, ("float16", "float32")))
