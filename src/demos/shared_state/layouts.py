"""Three ways to serve N concurrent requests, and how onnxruntime's threads add up in each.

* **shared session**: N request threads call ``run`` on one session. Its intra-op pool
  (``intra_op_num_threads - 1`` threads; the calling thread is the last one) is shared by
  every call in flight: the threads that may compute are N callers + one pool. They *add*.
* **session per thread**: request thread i has session i, each with its own pool:
  N × ``intra_op_num_threads``. They *multiply*.
* **process per worker**: N worker processes, one session each: the same product, and no
  process can share a pool with another.

:func:`measure` serves the same request through each layout for every ``intra_op``,
interleaved round by round so that a neighbour's load falls on all of them alike, counts
the threads every session of every layout added, and the CPU seconds each point spent (so
that a gain that only takes more of a shared machine shows as cores used, not as less CPU
per request). The ratios between points of one call are what to read, not the rates.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from demos import knobs
from demos.harness import HangError
from demos.models import Encoder

__all__ = ["LAYOUTS", "Layouts", "Point", "burst", "measure", "new_threads", "session"]

LAYOUTS = ("one request", "shared session", "session per thread", "process per worker")


def _tids() -> set[str] | None:
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        return None


def new_threads(make: Any) -> tuple[Any, int | None]:
    """``make()``, and how many operating-system threads it started that still run (Linux
    ``/proc``; None elsewhere). Threads are compared by id, so a thread that ends meanwhile
    does not hide one that started."""
    before = _tids()
    made = make()
    after = _tids()
    return made, None if before is None or after is None else len(after - before)


def session(model_path: str, intra_op: int, *, spinning: bool = True) -> ort.InferenceSession:
    """A CPU session with ``intra_op_num_threads=intra_op`` (0: onnxruntime's default) and
    ``session.intra_op.allow_spinning`` on (onnxruntime's default) or off; nothing else set."""
    knobs.integer("intra_op", intra_op, low=0)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model_path, sess_options=options,
                                providers=["CPUExecutionProvider"])


def burst(sessions: Sequence[Any], feeds: dict[str, Any], calls: int, timeout_s: float, *,
          outputs: Sequence[str] | None = None) -> tuple[list[float], float, float]:
    """One thread per session, released together, each calling ``run`` ``calls`` times.

    ``outputs`` names the outputs ``run`` computes (None: all of them). Returns the
    latencies, the window (first start to last end) and the CPU seconds this process spent
    meanwhile (every thread, onnxruntime's pools included)."""
    start = threading.Barrier(len(sessions) + 1)
    lock = threading.Lock()  # guards latencies, spans and errors, appended by every thread
    latencies: list[float] = []
    spans: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def work(s: Any) -> None:
        try:
            start.wait(timeout_s)
            for _ in range(calls):
                began = time.perf_counter()
                s.run(None if outputs is None else list(outputs), feeds)
                ended = time.perf_counter()
                with lock:
                    latencies.append(ended - began)
                    spans.append((began, ended))
        except BaseException as error:  # reported below, never lost in a thread
            with lock:
                errors.append(error)

    workers = [threading.Thread(target=work, args=(s,), name=f"layout-{i}", daemon=True)
               for i, s in enumerate(sessions)]
    for worker in workers:
        worker.start()
    cpu = time.process_time()
    start.wait(timeout_s)
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    cpu = time.process_time() - cpu
    if any(w.is_alive() for w in workers):
        start.abort()
        raise HangError(f"request threads still running after {timeout_s}s")
    if errors:
        raise errors[0]
    return latencies, max(e for _, e in spans) - min(b for b, _ in spans), cpu


@dataclass(frozen=True)
class Point:
    """One layout at one ``intra_op``: ``workers`` concurrent requesters, what they served."""

    layout: str
    intra_op: int
    workers: int
    threads: int | None  # threads that may compute: callers + every pool thread they use
    latencies_s: tuple[float, ...]
    window_s: float  # summed over rounds
    cpu_s: float  # CPU seconds spent serving them (every thread; every worker process)

    @property
    def cores_used(self) -> float:
        """CPU seconds per wall second: how many cores' worth of time the point took."""
        return self.cpu_s / self.window_s if self.window_s > 0 else 0.0

    @property
    def cpu_ms_per_call(self) -> float:
        """CPU milliseconds per request: the work a request cost, whoever's core it ran on."""
        return 1e3 * self.cpu_s / len(self.latencies_s) if self.latencies_s else 0.0

    @property
    def calls_per_s(self) -> float:
        return len(self.latencies_s) / self.window_s if self.window_s > 0 else float("inf")

    @property
    def p99_ms(self) -> float:
        return 1e3 * float(np.percentile(self.latencies_s, 99))


@dataclass(frozen=True)
class Layouts:
    """Every point of one :func:`measure` call, measured side by side."""

    points: tuple[Point, ...]
    cores: int
    workers: int
    batch: int
    pool_threads: dict[int, int | None]  # intra_op -> threads one session's pool added

    def point(self, layout: str, intra_op: int) -> Point:
        return next(p for p in self.points if (p.layout, p.intra_op) == (layout, intra_op))

    @property
    def layouts(self) -> list[str]:
        return list(dict.fromkeys(p.layout for p in self.points))

    @property
    def intra_ops(self) -> list[int]:
        return list(dict.fromkeys(p.intra_op for p in self.points))

    def summary(self, layout: str) -> str:
        """What this run measured for ``layout``, in a sentence, with the numbers."""
        ks = self.intra_ops
        best = max(ks, key=lambda k: self.point(layout, k).calls_per_s)
        lo, hi = self.point(layout, ks[0]), self.point(layout, ks[-1])
        return (f"{layout}: most throughput at intra_op_num_threads={best} "
                f"({self.point(layout, best).calls_per_s:.0f} requests/s); "
                f"intra_op_num_threads={ks[-1]} served {hi.calls_per_s / lo.calls_per_s:.2f}× "
                f"the throughput of {ks[0]}, p99 {hi.p99_ms:.0f} ms against {lo.p99_ms:.0f} ms.")


def measure(encoder: Encoder, *, workers: int = 4, intra_ops: Sequence[int] = (1, 2, 4),
            layouts: Sequence[str] = LAYOUTS, calls: int = 12, rounds: int = 2, batch: int = 4,
            spinning: bool = True, timeout_s: float = 120.0) -> Layouts:
    """Throughput and p99 for every ``layouts`` × ``intra_ops``, side by side.

    ``workers`` requesters (threads or processes) each serve ``calls`` requests of ``batch``
    texts per point, split over ``rounds``; ``"one request"`` is one requester on one session,
    the baseline. Sessions and processes are built and warmed up before anything is timed.

    Raises:
        ValueError: for a count out of range or an unknown layout.
        HangError: if a burst or a worker process is not done within ``timeout_s``.
    """
    knobs.integer("workers", workers, high=16)
    for k in intra_ops:
        knobs.integer("intra_op", k, low=0, high=64)
    for layout in layouts:
        knobs.choice("layout", layout, LAYOUTS)
    knobs.integer("calls", calls)
    knobs.integer("rounds", rounds, high=calls)
    knobs.integer("batch", batch, high=32)
    knobs.seconds("timeout_s", timeout_s)
    from demos.shared_state.workload import requests

    feeds = encoder.feeds(requests(1, 1, batch)[0][0])
    path = str(encoder.model_path)
    pools: dict[tuple[str, int], list[Any]] = {}
    pool_threads: dict[int, int | None] = {}
    per_thread_added: dict[int, int | None] = {}  # every per-thread session's pool, counted
    for k in intra_ops:
        first, pool_threads[k] = new_threads(lambda k=k: session(path, k, spinning=spinning))
        pools["shared session", k] = [first] * workers
        if "session per thread" in layouts:
            rest, added = new_threads(lambda k=k: [session(path, k, spinning=spinning)
                                                   for _ in range(workers - 1)])
            pools["session per thread", k] = [first, *rest]
            pool = pool_threads[k]
            per_thread_added[k] = None if pool is None or added is None else pool + added
    for pool in pools.values():
        for s in set(pool):
            s.run(None, feeds)  # warm-up: the first runs allocate and plan
    from demos.shared_state._workers import Processes

    procs = (Processes(path, workers, intra_ops, spinning, feeds, timeout_s)
             if "process per worker" in layouts else None)
    configs = [(layout, k) for layout in layouts for k in intra_ops]
    seen: dict[tuple[str, int], tuple[list[float], float, float]] = {
        c: ([], 0.0, 0.0) for c in configs}
    try:
        for r in range(rounds):
            for layout, k in configs if r % 2 == 0 else reversed(configs):
                per = max(1, round(calls / rounds))
                if layout == "process per worker":
                    assert procs is not None
                    latencies, window, cpu = procs.run(k, per)
                else:
                    sessions = (pools["shared session", k][:1] if layout == "one request"
                                else pools[layout, k])
                    latencies, window, cpu = burst(sessions, feeds, per, timeout_s)
                kept, total, spent = seen[layout, k]
                seen[layout, k] = (kept + latencies, total + window, spent + cpu)
    finally:
        if procs is not None:
            procs.close()

    def threads(layout: str, k: int) -> int | None:
        if layout == "process per worker":
            assert procs is not None
            added = [p[k] for p in procs.pool_threads]
            return None if None in added else sum(1 + a for a in added)
        pool = per_thread_added[k] if layout == "session per thread" else pool_threads[k]
        if pool is None:
            return None
        return (1 if layout == "one request" else workers) + pool  # callers + counted pools

    points = tuple(Point(layout, k, 1 if layout == "one request" else workers,
                         threads(layout, k), tuple(seen[layout, k][0]), seen[layout, k][1],
                         seen[layout, k][2])
                   for layout, k in configs)
    from demos.shared_state.oversubscription import cores

    return Layouts(points, cores(), workers, batch, pool_threads)
