"""Request threads and onnxruntime's own threads on the same cores: what oversubscription costs.

A session left at onnxruntime's default ``intra_op_num_threads`` (0: one thread per physical
core, busy-spinning between operators) has a pool of that many threads less the caller. N
request threads sharing one session share that one pool (N + pool threads: they add); a
session per request thread brings a pool each (N × threads: they multiply, see
:mod:`.layouts`). :func:`measure` serves the same request from N threads through
one session per threading choice, for every N, interleaved round by round so that a noisy
neighbour slows every configuration alike, and reports throughput and tail latency. The
ratios between configurations measured in one call are what to read, not the rates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from demos import knobs
from demos.models import Encoder
from demos.shared_state.layouts import burst as layout_burst

__all__ = ["DEFAULT", "LAYOUTS", "Cell", "Grid", "cores", "make_session", "measure",
           "native_threads"]

#: The ``intra_op`` value meaning "leave onnxruntime's default" (``intra_op_num_threads=0``).
DEFAULT = 0


def cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def native_threads() -> int | None:
    """The operating-system threads of this process (Linux ``/proc``), or None elsewhere."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def make_session(encoder: Encoder, intra_op: int) -> ort.InferenceSession:
    """A CPU session of ``encoder``'s model with only ``intra_op_num_threads`` chosen.

    ``intra_op=DEFAULT`` (0) keeps every onnxruntime default, spinning included: what a
    service gets from ``InferenceSession(path)``. Only the log level is changed.
    """
    knobs.integer("intra_op", intra_op, low=0)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op
    options.log_severity_level = 3
    return ort.InferenceSession(str(encoder.model_path), sess_options=options,
                                providers=["CPUExecutionProvider"])


#: How request threads meet sessions: all share one, or each has its own (a session pool).
LAYOUTS = ("shared", "per-thread")


@dataclass(frozen=True)
class Cell:
    """One configuration: ``threads`` request threads on sessions with ``intra_op``."""

    layout: str
    intra_op: int
    threads: int
    latencies_s: tuple[float, ...]
    window_s: float  # summed over rounds: first start to last end of each burst

    @property
    def calls(self) -> int:
        return len(self.latencies_s)

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.window_s if self.window_s > 0 else float("inf")

    @property
    def p99_ms(self) -> float:
        return 1e3 * float(np.percentile(self.latencies_s, 99))

    @property
    def p50_ms(self) -> float:
        return 1e3 * float(np.percentile(self.latencies_s, 50))


@dataclass(frozen=True)
class Grid:
    """Every cell of one :func:`measure` call, measured side by side."""

    cells: tuple[Cell, ...]
    cores: int
    batch: int
    #: intra_op -> threads one session added to the process (its pool), None if unknown
    pool_threads: dict[int, int | None]

    def cell(self, layout: str, intra_op: int, threads: int) -> Cell:
        return next(c for c in self.cells
                    if (c.layout, c.intra_op, c.threads) == (layout, intra_op, threads))

    @property
    def layouts(self) -> list[str]:
        return list(dict.fromkeys(c.layout for c in self.cells))

    @property
    def threads(self) -> list[int]:
        return sorted({c.threads for c in self.cells})

    @property
    def intra_ops(self) -> list[int]:
        return list(dict.fromkeys(c.intra_op for c in self.cells))

    def label(self, intra_op: int) -> str:
        return ("onnxruntime default" if intra_op == DEFAULT
                else f"intra_op_num_threads={intra_op}")

    def rule(self, layout: str = "shared") -> str:
        """What these numbers say for ``layout``, in a sentence, with the numbers."""
        if DEFAULT not in self.intra_ops or 1 not in self.intra_ops:
            raise ValueError("rule() needs intra_op 1 and DEFAULT in the grid")
        lo, hi = self.threads[0], self.threads[-1]

        def rate(k: int, n: int) -> float:
            return self.cell(layout, k, n).calls_per_s

        one = rate(DEFAULT, lo) / rate(1, lo)
        many = rate(1, hi) / rate(DEFAULT, hi)
        p99 = (self.cell(layout, 1, hi).p99_ms, self.cell(layout, DEFAULT, hi).p99_ms)
        wins = [n for n in self.threads if rate(1, n) >= rate(DEFAULT, n)]
        if not wins:
            first = "intra_op_num_threads=1 never served as much as the default"
        elif wins == self.threads[self.threads.index(wins[0]):]:
            first = (f"from {wins[0]} request thread{'s' if wins[0] > 1 else ''} on, "
                     "intra_op_num_threads=1 served at least as much as the default")
        else:
            first = ("intra_op_num_threads=1 served at least as much as the default at "
                     f"{', '.join(map(str, wins))} request threads")
        return (f"{layout} session{'s' if layout != 'shared' else ''}, {self.cores} cores: "
                f"with {lo} request thread the default served {one:.2f}× the throughput of "
                f"intra_op_num_threads=1; {first}; at {hi} request threads "
                f"intra_op_num_threads=1 served {many:.2f}× the default's throughput, "
                f"p99 {p99[0]:.0f} ms against {p99[1]:.0f} ms.")


def _burst(sessions: Sequence[Any], feeds: dict[str, Any], calls: int,
           timeout_s: float) -> tuple[list[float], float]:
    """One thread per session, released together, each calling ``run`` ``calls`` times
    (:func:`demos.shared_state.layouts.burst`, the thread budget page's burst)."""
    latencies, window, _cpu = layout_burst(sessions, feeds, calls, timeout_s,
                                           outputs=["sentence_embedding"])
    return latencies, window


def measure(encoder: Encoder, *, threads: Sequence[int] = (1, 2, 4, 8),
            intra_ops: Sequence[int] = (1, DEFAULT), layouts: Sequence[str] = LAYOUTS,
            calls: int = 48, rounds: int = 3, batch: int = 4,
            timeout_s: float = 120.0) -> Grid:
    """Throughput and latency for every ``layouts`` × ``intra_ops`` × ``threads``, side by side.

    Each configuration serves ``calls`` requests of ``batch`` texts in all, split evenly over
    ``rounds``; within a round every configuration runs once, in an order that alternates
    between rounds. ``"shared"``: the request threads share one session; ``"per-thread"``:
    request thread i has session i (a pool of sessions, each with its own thread pool).
    Sessions are built and warmed up before anything is timed.

    Raises:
        ValueError: for a count out of range or an unknown layout.
        HangError: if the measurement is not done within ``timeout_s``.
    """
    for n in threads:
        knobs.integer("threads", n, high=64)
    for k in intra_ops:
        knobs.integer("intra_op", k, low=0)
    for layout in layouts:
        knobs.choice("layout", layout, LAYOUTS)
    knobs.integer("calls", calls)
    knobs.integer("rounds", rounds, high=calls)
    knobs.integer("batch", batch, high=32)
    knobs.seconds("timeout_s", timeout_s)
    from demos.shared_state.workload import requests

    feeds = encoder.feeds(requests(1, 1, batch)[0][0])
    pool_threads: dict[int, int | None] = {}
    sessions: dict[tuple[str, int], list[Any]] = {}
    for k in intra_ops:
        before = native_threads()
        first = make_session(encoder, k)
        after = native_threads()
        pool_threads[k] = None if before is None or after is None else after - before
        for layout in layouts:
            count = 1 if layout == "shared" else max(threads)
            sessions[layout, k] = [first] + [make_session(encoder, k) for _ in range(count - 1)]
    for pool in sessions.values():
        for session in pool:  # warm-up: the first runs allocate and plan
            session.run(["sentence_embedding"], feeds)
    configs = [(layout, k, n) for layout in layouts for k in intra_ops for n in threads]
    seen: dict[tuple[str, int, int], tuple[list[float], float]] = {
        c: ([], 0.0) for c in configs}
    deadline = time.monotonic() + timeout_s
    for r in range(rounds):
        for layout, k, n in configs if r % 2 == 0 else reversed(configs):
            per_thread = max(1, round(calls / rounds / n))
            left = max(0.001, deadline - time.monotonic())
            pool = sessions[layout, k]
            latencies, window = _burst([pool[i % len(pool)] for i in range(n)], feeds,
                                       per_thread, left)
            kept, total = seen[layout, k, n]
            seen[layout, k, n] = (kept + latencies, total + window)
    cells = tuple(Cell(*c, tuple(seen[c][0]), seen[c][1]) for c in configs)
    return Grid(cells, cores(), batch, pool_threads)
