"""The checks behind chapter 1's exercises: each returns a Verdict with counts, never timings."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

from demos import exercises
from demos.exercises import Verdict
from demos.precision import fixed, scenario

__all__ = ["BFLOAT16_CASES", "INT8_CASES", "check_1", "check_2", "check_3"]

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)


def check_1(running_mean_class: type) -> Verdict:
    """Exercise 1.1: a float32-only running mean (Kahan) that meets the scenario's budget.

    Runs the chapter's scenario with the reader's class in place of ``RunningMean`` (the
    fixed cast and softmax), under two sets of knobs, and checks that every float the
    instance keeps is a float32 (the accelerator has no float64).
    """

    def attempt() -> Verdict:
        yours = types.SimpleNamespace(NAME="yours", to_model_input=fixed.to_model_input,
                                      softmax=fixed.softmax, RunningMean=running_mean_class)
        probe = running_mean_class()
        probe.add(np.full(4, 0.1, dtype=np.float32))
        wide = sorted(name for name, value in vars(probe).items()
                      if isinstance(value, float) or (isinstance(value, np.floating)
                                                      and value.dtype != np.float32))
        if wide:
            return exercises.failed("1.1", f"attributes {', '.join(wide)} are not float32: "
                                           "the accelerator has no float64")
        runs = [{}, {"batch_size": 1, "stream_length": 200_000, "value": 0.3}]
        errors = []
        for knobs in runs:
            report = scenario.run(yours, **knobs)
            errors.append(float(report.metrics["accumulate_rel_error"]))
        over = [e for e in errors if not e <= scenario.ACCUMULATE_RTOL]
        shown = ", ".join(f"{e:.2g}" for e in errors)
        if over:
            return exercises.failed(
                "1.1", f"{len(over)} of {len(runs)} streams off by more than "
                       f"{scenario.ACCUMULATE_RTOL:g} (relative errors {shown})")
        return exercises.passed(
            "1.1", f"{len(runs)} of {len(runs)} streams within {scenario.ACCUMULATE_RTOL:g} "
                   f"(relative errors {shown}), float32 state only")

    return exercises.check("1.1", attempt)


#: (description, values, must the cast pass?) for exercise 1.2.
BFLOAT16_CASES: tuple[tuple[str, list[float], bool], ...] = (
    ("ordinary values", list(np.random.default_rng(0).normal(0.0, 10.0, 32)), True),
    ("70000, past float16's range", [0.5, 70000.0], True),
    ("integers up to 256", [0.0, 255.0, 256.0], True),
    ("1e-30, a normal bfloat16", [1e-30], True),
    ("1e39, past bfloat16's largest", [1.0, 1e39], False),
    ("the id 257", [255.0, 257.0], False),
    ("1e-40, a subnormal that loses bits", [1.0, 1e-40], False),
    ("1e-46, which becomes 0", [1.0, 1e-46], False),
)


def check_2(cast: Callable[..., Any]) -> Verdict:
    """Exercise 1.2: a checked cast to bfloat16 under the default budget (its epsilon)."""

    def attempt() -> Verdict:
        wrong = []
        for label, values, should_pass in BFLOAT16_CASES:
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(cast(values))
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
        summary = f"{right} of {len(BFLOAT16_CASES)} cases right"
        if wrong:
            return exercises.failed("1.2", f"{summary}; {'; '.join(wrong[:2])}")
        return exercises.passed("1.2", f"{summary}: 4 casts within budget, 4 refused")

    return exercises.check("1.2", attempt)


#: (description, values, scale, expected int8 values or None when it must raise).
INT8_CASES: tuple[tuple[str, list[float], float, list[int] | None], ...] = (
    ("0.26 and -0.26 at scale 0.1 round to 3 and -3", [0.26, -0.26], 0.1, [3, -3]),
    ("12.7 and -12.8 at scale 0.1 are the ends", [12.7, -12.8], 0.1, [127, -128]),
    ("0.04 at scale 0.1 rounds to 0", [0.04, 1.0], 0.1, [0, 10]),
    ("20.0 at scale 0.1 is 200: out of range", [1.0, 20.0], 0.1, None),
    ("-13.0 at scale 0.1 is -130: out of range", [-13.0], 0.1, None),
    ("nan has no int8", [1.0, math.nan], 0.1, None),
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
        return exercises.passed("1.3", f"{summary}: rounded to nearest, 3 refused")

    return exercises.check("1.3", attempt)
