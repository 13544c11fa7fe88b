"""Put a ModelHolder and a LazyModel under concurrent threads and count what they saw.

``run`` repeats two trials (see :mod:`demos.publication.trials`) ``trials`` times each:

* **publication**: ``readers`` threads poll ``holder.is_ready()`` and then call
  ``holder.predict()`` while the loader builds a real onnxruntime session and warms it up;
  the warm-up lasts until a reader has looked, so a too-early "ready" is always caught.
* **lazy load**: ``threads`` threads released by a barrier call ``lazy.get()``; each load
  sleeps ``load_delay_s`` (reading weights from disk) and creates a real session.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from demos.publication.model import load_model
from demos.publication.trials import Sight, Trial, holder_trial, lazy_trial
from demos.report import Report

__all__ = ["Sight", "Trial", "bench", "holder_trial", "lazy_trial", "run"]

PITFALL = "publication"


def run(impl: Any, *, readers: int = 2, trials: int = 10, load_delay_s: float = 0.02,
        threads: int = 8, seed: int = 0) -> Report:
    """Publication and lazy-load trials; manifested if a reader saw a half-built model or
    the model was loaded more than once per trial."""
    for name, value in (("readers", readers), ("trials", trials), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if not (load_delay_s >= 0 and math.isfinite(load_delay_s)):
        raise ValueError(f"load_delay_s must be a finite number >= 0, got {load_delay_s!r}")
    label = getattr(impl, "__name__", "yours").rsplit(".", 1)[-1]
    runs = [holder_trial(impl, readers=readers, load_delay_s=load_delay_s, seed=seed + i)
            for i in range(trials)]
    failures = sum(t.failures for t in runs)
    first_ok = [min((s.done_ms for s in t.sights if not s.failed), default=math.nan)
                for t in runs]
    lazy = [lazy_trial(impl.LazyModel, threads=threads, load_delay_s=load_delay_s)
            for _ in range(trials)]
    loads = sum(n for n, _ in lazy)
    extra = loads - trials
    manifested = failures > 0 or extra > 0
    sample = next((s.outcome for t in runs for s in t.sights if s.failed), "")
    headline = (f"{failures} of {readers * trials} reader(s) used a model that was not ready; "
                f"{threads} threads loaded the model {loads} times in {trials} trials "
                f"(once per trial is right)")
    return Report(PITFALL, label, manifested, headline, {
        "trials": trials,
        "readers": readers,
        "failures": failures,
        "failures_per_trial": failures / trials,
        "first_failure": sample,
        "time_to_first_answer_ms": float(np.nanmedian(first_ok)) if failures < readers * trials
        else math.nan,
        "threads": threads,
        "loads": loads,
        "duplicate_loads": extra,
        "max_distinct_objects": max(d for _, d in lazy),
    })


def bench(trials: int = 10) -> dict[str, Any]:
    """Broken and fixed side by side, plus the cost of the lock on the lazy fast path."""
    from demos.publication import broken, fixed

    out: dict[str, Any] = {}
    for impl in (broken, fixed):
        out[impl.__name__.rsplit(".", 1)[-1]] = dict(run(impl, trials=trials).metrics)
    model = load_model()
    per_call = {}
    for impl in (broken, fixed):
        lazy = impl.LazyModel(lambda: model)
        lazy.get()
        t = time.perf_counter()
        for _ in range(100_000):
            lazy.get()
        per_call[impl.__name__] = (time.perf_counter() - t) / 100_000
    out["fixed_get_over_broken_get"] = per_call[fixed.__name__] / per_call[broken.__name__]
    return out
