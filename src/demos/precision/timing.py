"""What the fix costs: the fixed and broken functions timed side by side in one run."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["bench"]


def bench(n: int = 1_000_000, repeat: int = 3) -> dict[str, float]:
    """What the fix costs: fixed/broken time ratios, measured side by side in one run."""
    from demos.precision import broken, fixed

    x = np.random.default_rng(0).normal(0.0, 10.0, size=n)
    logits = x[: n - n % 1000].reshape(-1, 1000)
    jobs = {
        "to_model_input": lambda m: m.to_model_input(x, "float32", kind="real"),
        "softmax": lambda m: m.softmax(logits),
        "running_mean": lambda m: [m.RunningMean().add(x[i : i + 1000]) for i in range(0, n, 1000)],
    }
    result: dict[str, float] = {"n": float(n)}
    for label, job in jobs.items():
        best = {}
        for module in (broken, fixed):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                with np.errstate(all="ignore"):
                    job(module)
                times.append(time.perf_counter() - start)
            best[module] = min(times)
        result[f"{label}_fixed_over_broken"] = round(best[fixed] / best[broken], 2)
    return result
