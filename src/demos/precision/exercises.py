"""The checks behind chapter 1's exercises: each returns a Verdict with counts, never timings.

``check_4`` and ``check_5`` (the depth pages' exercises) live in :mod:`.exercise_graphs` and
:mod:`.exercise_int8` and are re-exported.
"""

from __future__ import annotations

import collections
import decimal
import fractions
import math
import types
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

from demos import exercises
from demos.exercises import Verdict
from demos.precision import fixed, scenario
from demos.precision.exercise_graphs import check_4
from demos.precision.exercise_int8 import check_5

__all__ = ["BFLOAT16_CASES", "INT8_CASES", "check_1", "check_2", "check_3", "check_4",
           "check_5"]

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)


#: The values of a stream that is not constant: a mean that keeps only the last batch's,
#: or any shortcut that holds for a constant stream, is caught by it.
VARYING_BATCHES = 300


def _varying_stream() -> list[np.ndarray]:
    """Batches of 1 to 1500 float32 values in [0.1, 1), their sizes and ranges varying."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 1500, VARYING_BATCHES)
    return [rng.uniform(0.1 + 0.5 * (i % 2), 0.6 + 0.4 * (i % 2), n).astype(np.float32)
            for i, n in enumerate(sizes)]


def _single_values() -> list[np.ndarray]:
    """300,000 float32 values in [0, 1), added one at a time: long enough that a float32 state
    without compensation (an incremental mean, say) drifts past the budget."""
    values = np.random.default_rng(1).uniform(0.0, 1.0, 300_000).astype(np.float32)
    return list(values.reshape(-1, 1))


def _floats_kept(value: Any, seen: set[int] | None = None) -> tuple[list[str], int]:
    """(the kinds of float kept that are not float32, how many float values are kept)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return [], 0
    seen.add(id(value))
    if isinstance(value, bool | int | str | bytes | types.FunctionType | type):
        return [], 0
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return ([] if value.dtype == np.float32 else [f"an array of {value.dtype}"]), value.size
        if value.dtype == object:
            return _floats_kept(list(value.flat), seen)
        return [], 0
    if isinstance(value, np.floating | np.complexfloating):
        return ([] if value.dtype == np.float32 else [f"a {value.dtype} scalar"]), 1
    if isinstance(value, float | complex):
        return [f"a Python {type(value).__name__} (64-bit)"], 1
    if isinstance(value, decimal.Decimal | fractions.Fraction):
        return [f"a {type(value).__name__}"], 1
    items: list[Any] = []
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list | tuple | set | frozenset | collections.deque):
        items = list(value)
    elif hasattr(value, "__dict__") or hasattr(type(value), "__slots__"):
        items = list(_state(value).values())
    wide, count = [], 0
    for item in items:
        w, c = _floats_kept(item, seen)
        wide += w
        count += c
    return wide, count


def _state(instance: Any) -> dict[str, Any]:
    slots = [n for k in type(instance).__mro__ for n in getattr(k, "__slots__", ())]
    found = {n: getattr(instance, n) for n in slots if hasattr(instance, n)}
    return found | dict(getattr(instance, "__dict__", {}))


def _check_state(running_mean_class: type) -> str | None:
    """A problem with what the instance keeps, or None: float32 only, and a fixed amount."""
    probe = running_mean_class()
    batches = _varying_stream()
    for batch in batches[:10]:
        probe.add(batch)
    early = sum(_floats_kept(value)[1] for value in _state(probe).values())
    for batch in batches[10:100]:
        probe.add(batch)
    wide = {name: sorted(set(_floats_kept(value)[0])) for name, value in _state(probe).items()}
    wide = {name: kinds for name, kinds in wide.items() if kinds}
    if wide:
        shown = "; ".join(f"{name} holds {', '.join(kinds)}"
                          for name, kinds in sorted(wide.items()))
        return f"{shown}: the accelerator has no float64, keep every float in float32"
    late = sum(_floats_kept(value)[1] for value in _state(probe).values())
    if late > early:
        return (f"it keeps {early} floats after 10 batches and {late} after 100: the state "
                "must not grow with the stream")
    return None


def _varying_error(running_mean_class: type,
                   batches: list[np.ndarray]) -> tuple[float, int, int]:
    """(relative error of the mean, count it reports, values added) on a varying stream."""
    mean = running_mean_class()
    for batch in batches:
        mean.add(batch)
    values = np.concatenate(batches).astype(np.float64)
    exact = math.fsum(values.tolist()) / values.size
    return abs(float(mean.mean()) - exact) / exact, int(mean.count), values.size


def check_1(running_mean_class: type) -> Verdict:
    """Exercise 1.1: a float32-only running mean (Kahan) that meets the scenario's budget.

    Checks that every float the instance keeps is a float32, in scalars, arrays and
    containers alike (the accelerator has no float64), and that the state does not grow
    with the stream; then runs the chapter's scenario with the reader's class in place of
    ``RunningMean`` under two sets of knobs (constant streams), and a stream of varying
    values in batches of varying sizes, where a shortcut that holds only for a constant
    stream (the last batch's mean, say) is off.
    """

    def attempt() -> Verdict:
        yours = types.SimpleNamespace(NAME="yours", to_model_input=fixed.to_model_input,
                                      softmax=fixed.softmax, RunningMean=running_mean_class)
        problem = _check_state(running_mean_class)
        if problem:
            return exercises.failed("1.1", problem)
        runs = [{}, {"batch_size": 1, "stream_length": 200_000, "value": 0.3}]
        errors = []
        for knobs in runs:
            report = scenario.run(yours, **knobs)
            errors.append(float(report.metrics["accumulate_rel_error"]))
        varying = []
        for batches in (_varying_stream(), _single_values()):
            error, count, added = _varying_error(running_mean_class, batches)
            if count != added:
                return exercises.failed("1.1",
                                        f"count is {count} after {added} values were added")
            varying.append(error)
        big = running_mean_class()  # 2**24 + 1: a count kept in float32 stops at 2**24
        big.add(np.broadcast_to(np.float32(0.0), (2**24 + 1,)))
        if int(big.count) != 2**24 + 1 or big.count != 2**24 + 1:
            return exercises.failed("1.1", f"count is {big.count!r} after {2**24 + 1} values "
                                           "were added in one batch: keep the count exact")
        rtol = scenario.ACCUMULATE_RTOL
        over = [e for e in [*errors, *varying] if not e <= rtol]
        shown = ", ".join(f"{e:.2g}" for e in errors)
        # A varying stream's error is shown only when over: within the budget, its last
        # digits follow the summation order, which may differ between machines.
        mixed = ", ".join(f"{e:.2g}" if not e <= rtol else "within" for e in varying)
        n = len(errors) + len(varying)
        if over:
            return exercises.failed(
                "1.1", f"{len(over)} of {n} streams off by more than {rtol:g} (constant "
                       f"streams: relative errors {shown}; varying values in batches, then "
                       f"300,000 one at a time: {mixed})")
        return exercises.passed(
            "1.1", f"{n} of {n} streams within {rtol:g} (constant streams: relative errors "
                   f"{shown}; varying values in batches and 300,000 one at a time too), "
                   "float32 state only, of a fixed size")

    return exercises.check("1.1", attempt)


#: (description, values, declaration, must the cast pass?) for exercise 1.2. The same
#: values come back with different kinds: only the declaration may decide.
BFLOAT16_CASES: tuple[tuple[str, list[float], dict[str, Any], bool], ...] = (
    ("ordinary real values", list(np.random.default_rng(0).normal(0.0, 10.0, 32)),
     {"kind": "real"}, True),
    ("70000 as real, past float16's range", [0.5, 70000.0], {"kind": "real"}, True),
    ("ids up to 256", [0.0, 255.0, 256.0], {"kind": "id"}, True),
    ("counts up to 256", [0.0, 12.0, 256.0], {"kind": "count"}, True),
    ("1e-30 as real, a normal bfloat16", [1e-30], {"kind": "real"}, True),
    ("0.5 and 257 as real", [0.5, 257.0], {"kind": "real"}, True),
    ("0.0 as real, sent as 0", [0.0, -1.5], {"kind": "real"}, True),
    ("minutes of a day at 1 minute", [90.0, 120.0], {"kind": "timestamp", "resolution": 1.0},
     True),
    ("1e39 as real, past bfloat16's largest", [1.0, 1e39], {"kind": "real"}, False),
    ("the id 257", [255.0, 257.0], {"kind": "id"}, False),
    ("0.5 and 257 as ids", [0.5, 257.0], {"kind": "id"}, False),
    ("the count 2.5", [1.0, 2.5], {"kind": "count"}, False),
    ("Unix seconds at 1 second", [1.7e9], {"kind": "timestamp", "resolution": 1.0}, False),
    ("1e-40 as real, a subnormal that loses bits", [1.0, 1e-40], {"kind": "real"}, False),
    ("1e-46 as real, which becomes 0", [1.0, 1e-46], {"kind": "real"}, False),
    ("Unix seconds of 2023 at 1 second", [1702887424.0],
     {"kind": "timestamp", "resolution": 1.0}, False),
    ("300.5 at a resolution of 2 (bfloat16's spacing there)", [300.5],
     {"kind": "timestamp", "resolution": 2.0}, True),
    ("the even ids 258 and 512", [258.0, 512.0], {"kind": "id"}, True),
    ("the count -3", [-3.0], {"kind": "count"}, False),
    ("0.1 as real within rtol 1e-4", [0.1], {"kind": "real", "rtol": 1e-4}, False),
    ("0.1 as real within rtol 0.01", [0.1], {"kind": "real", "rtol": 0.01}, True),
    ("nan as real", [1.0, math.nan], {"kind": "real"}, False),
    ("inf as an id", [1.0, math.inf], {"kind": "id"}, False),
    ("nan as a timestamp at 1 second", [90.0, math.nan],
     {"kind": "timestamp", "resolution": 1.0}, False),
)


def check_2(cast: Callable[..., Any]) -> Verdict:
    """Exercise 1.2: a checked cast to bfloat16 whose budget follows the declared kind.

    Each case calls ``cast(values, kind)``, with ``resolution=`` for a timestamp; the same
    values come back under different kinds, so a cast that decides from the values (all
    whole numbers, so ids) gets one of each pair wrong.
    """

    def attempt() -> Verdict:
        wrong = []
        for label, values, declared, should_pass in BFLOAT16_CASES:
            kind, extra = declared["kind"], {k: v for k, v in declared.items() if k != "kind"}
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(cast(values, kind, **extra))
            except ValueError:
                if should_pass:
                    wrong.append(f"{label} raised")
                continue
            if not should_pass:
                wrong.append(f"{label} passed in silence")
            elif out.dtype != BFLOAT16:
                wrong.append(f"{label} came back as {out.dtype}")
            elif not np.array_equal(out.astype(np.float64),
                                    np.asarray(values).astype(BFLOAT16).astype(np.float64)):
                wrong.append(f"{label} came back rounded differently")
        right = len(BFLOAT16_CASES) - len(wrong)
        refused = sum(not case[-1] for case in BFLOAT16_CASES)
        summary = f"{right} of {len(BFLOAT16_CASES)} cases right"
        if wrong:
            return exercises.failed("1.2", f"{summary}; {'; '.join(wrong[:3])}")
        return exercises.passed("1.2", f"{summary}: {len(BFLOAT16_CASES) - refused} casts "
                                       f"within their kind's budget, {refused} refused")

    return exercises.check("1.2", attempt)


#: (description, values, scale, expected int8 values or None when it must raise).
INT8_CASES: tuple[tuple[str, list[float], float, list[int] | None], ...] = (
    ("0.26 and -0.26 at scale 0.1 round to 3 and -3", [0.26, -0.26], 0.1, [3, -3]),
    ("12.7 and -12.8 at scale 0.1 are the ends", [12.7, -12.8], 0.1, [127, -128]),
    ("0.04 at scale 0.1 rounds to 0", [0.04, 1.0], 0.1, [0, 10]),
    ("20.0 at scale 0.1 is 200: out of range", [1.0, 20.0], 0.1, None),
    ("-13.0 at scale 0.1 is -130: out of range", [-13.0], 0.1, None),
    ("nan has no int8", [1.0, math.nan], 0.1, None),
    ("12.8 at scale 0.1 is 128: one past the end", [12.8], 0.1, None),
    ("12.76 at scale 0.1 rounds to 128: out of range", [12.76], 0.1, None),
    ("12.74 and -12.84 at scale 0.1 round to the ends", [12.74, -12.84], 0.1, [127, -128]),
)


def check_3(quantize: Callable[[Any, float], Any]) -> Verdict:
    """Exercise 1.3: int8 quantization that rounds to nearest and refuses what does not fit."""

    def attempt() -> Verdict:
        wrong = []
        for label, values, scale, expected in INT8_CASES:
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(quantize(values, scale))
            except ValueError:
                if expected is not None:
                    wrong.append(f"{label}: raised")
                continue
            if expected is None:
                wrong.append(f"{label}: returned {out.tolist()} in silence")
            elif out.dtype != np.int8:
                wrong.append(f"{label}: dtype {out.dtype}")
            elif out.tolist() != expected:
                wrong.append(f"{label}: got {out.tolist()}")
        right = len(INT8_CASES) - len(wrong)
        summary = f"{right} of {len(INT8_CASES)} cases right"
        if wrong:
            return exercises.failed("1.3", f"{summary}; {'; '.join(wrong[:2])}")
        refused = sum(case[-1] is None for case in INT8_CASES)
        return exercises.passed("1.3", f"{summary}: rounded to nearest, {refused} refused")

    return exercises.check("1.3", attempt)
