"""Put a ModelHolder, a LazyModel and a worker process under load and count what they saw.

``run`` repeats two trials (see :mod:`demos.publication.trials`) ``trials`` times each,
then starts worker processes (see :mod:`demos.publication.forking`):

* **publication**: ``readers`` threads poll ``holder.is_ready()`` and then call
  ``holder.predict()`` while the loader builds a real onnxruntime session and warms it up;
  the warm-up lasts until a reader has looked, so a too-early "ready" is always caught.
* **lazy load**: ``threads`` threads released by a barrier call ``lazy.get()``; each load
  sleeps ``load_delay_s`` (reading weights from disk) and creates a real session. The
  contract: exactly one load per trial, and every thread gets that one model.
* **worker processes**: a server preloads the model and starts ``workers`` worker(s) with
  ``impl.start_worker``; the contract: each worker serves with a session it created itself,
  with its intra-op threads running, and shuts down cleanly.
"""

from __future__ import annotations

import math
import time
from types import ModuleType
from typing import Any

import numpy as np

from demos import knobs
from demos.publication.forking import WorkerTrial, worker_trial
from demos.publication.model import load_model
from demos.publication.trials import (
    TRIAL_BOUND_S,
    LazyTrial,
    Sight,
    Trial,
    holder_trial,
    lazy_trial,
)
from demos.report import Report

__all__ = ["LazyTrial", "Sight", "Trial", "WorkerTrial", "bench", "holder_trial", "lazy_trial",
           "run", "worker_trial"]

PITFALL = "publication"


def run(impl: Any, *, readers: int = 2, trials: int = 10, load_delay_s: float = 0.02,
        threads: int = 8, workers: int = 1, intra_op_threads: int = 4, seed: int = 0,
        bound_s: float = TRIAL_BOUND_S) -> Report:
    """Publication, lazy-load and worker-process trials.

    Manifested when a reader got anything but the right answer (None, a half-built model,
    a timeout), when a lazy trial loaded the model other than exactly once or handed threads
    different objects (or None), or when a worker served with a session another process
    created, lacked its session's threads, or did not shut down cleanly.

    Args:
        workers: worker processes to start (0 skips the process case; it also is skipped
            for an ``impl`` that is not a module with ``start_worker``, e.g. a namespace).
        intra_op_threads: the intra-op threads of the workers' sessions.
        bound_s: every wait of every trial is bounded by this (tests pass a short one).
    """
    knobs.integer("readers", readers)
    knobs.integer("trials", trials)
    knobs.integer("threads", threads)
    knobs.integer("workers", workers, low=0)
    knobs.integer("intra_op_threads", intra_op_threads)
    knobs.seconds("load_delay_s", load_delay_s, allow_zero=True)
    knobs.seconds("bound_s", bound_s)
    runs = [holder_trial(impl, readers=readers, load_delay_s=load_delay_s, seed=seed + i,
                         bound_s=bound_s) for i in range(trials)]
    failures = sum(t.failures for t in runs)
    first_ok = [min((s.done_ms for s in t.sights if not s.failed), default=math.nan)
                for t in runs]
    lazy = [lazy_trial(impl.LazyModel, threads=threads, load_delay_s=load_delay_s,
                       bound_s=bound_s) for _ in range(trials)]
    loads = sum(t.loads for t in lazy)
    off_contract = sum(t.broken for t in lazy)
    processes = isinstance(impl, ModuleType) and hasattr(impl, "start_worker")
    seen = [worker_trial(impl, intra_op_threads=intra_op_threads, timeout_s=2 * bound_s)
            for _ in range(workers if processes else 0)]
    bad_workers = sum(w.failed for w in seen)
    manifested = failures > 0 or off_contract > 0 or bad_workers > 0
    sample = next((s.outcome for t in runs for s in t.sights if s.failed), "")
    worker_text = (f"{bad_workers} of {len(seen)} worker process(es) served with a session "
                   f"created in another process or did not shut down cleanly" if seen
                   else "worker processes skipped")
    headline = (f"{failures} of {readers * trials} reader(s) used a model that was not ready; "
                f"{threads} threads loaded the model {loads} times in {trials} trials "
                f"(once per trial is right), {off_contract} trial(s) off that contract; "
                f"{worker_text}")
    return Report(PITFALL, knobs.impl_name(impl), manifested, headline, {
        "trials": trials,
        "readers": readers,
        "failures": failures,
        "failures_per_trial": failures / trials,
        "trials_with_a_failure": sum(t.failures > 0 for t in runs),
        "first_failure": sample,
        "time_to_first_answer_ms": float(np.nanmedian(first_ok)) if failures < readers * trials
        else math.nan,
        "threads": threads,
        "loads": loads,
        "duplicate_loads": sum(max(0, t.loads - 1) for t in lazy),
        "lazy_trials_off_contract": off_contract,
        "max_distinct_objects": max(t.distinct for t in lazy),
        "threads_without_a_model": sum(t.missing for t in lazy),
        "workers": len(seen),
        "workers_failed": bad_workers,
        "workers_with_inherited_session": sum(w.inherited for w in seen),
        "worker_threads": min((w.worker_threads or 0 for w in seen), default=0),
        "intra_op_threads": intra_op_threads,
        "worker_outcome": seen[0].outcome if seen else "skipped",
    })


def bench(trials: int = 10) -> dict[str, Any]:
    """Broken and fixed side by side, plus the cost of the lock on the lazy fast path."""
    from demos.publication import broken, fixed

    out: dict[str, Any] = {}
    for impl in (broken, fixed):
        out[knobs.impl_name(impl)] = dict(run(impl, trials=trials).metrics)
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
