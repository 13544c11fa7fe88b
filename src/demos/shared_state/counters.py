"""Five ways to count requests from several threads, and what each one costs.

=================  ==========================================  ============================
pattern            the code                                     correct?
=================  ==========================================  ============================
``+=``             ``self.n += 1``                              by luck of the interpreter
read–call–write    ``n = self.n; call(); self.n = n + 1``       no
itertools.count    ``next(self._counter)``                      yes, with the GIL
lock               ``with self._lock: self.n += 1``             yes
per-thread         each thread its own counter, summed on read  yes
=================  ==========================================  ============================

``+=`` on an attribute is several bytecodes (load, add, store). CPython 3.10+ only switches
threads at a few places (calls, backward jumps), so here it happens not to lose updates;
nothing promises that, and free-threaded CPython runs the bytecodes truly in parallel.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from demos import knobs
from demos.harness import HangError

__all__ = ["PATTERNS", "CounterResult", "count"]

PATTERNS = ("+=", "read–call–write", "itertools.count", "lock", "per-thread")


@dataclass(frozen=True, slots=True)
class CounterResult:
    """One run of :func:`count`: how many increments were made, counted and lost."""

    pattern: str
    threads: int
    expected: int
    counted: int
    wall_s: float

    @property
    def lost(self) -> int:
        return self.expected - self.counted

    @property
    def ns_per_increment(self) -> float:
        """Wall time per increment, all threads together, in nanoseconds."""
        return self.wall_s / self.expected * 1e9


def _noop() -> None:
    """Stands for the model call (or logging, timing...) between the read and the write."""


class _Box:
    n = 0


def _loop(pattern: str, increments: int,
          call: Callable[[], object]) -> tuple[Callable[[], None], Callable[[], int]]:
    """Build one thread's body and a reader for the shared state, for ``pattern``."""
    box, lock, counter = _Box(), threading.Lock(), itertools.count()
    local, totals = threading.local(), []

    if pattern == "+=":
        def body() -> None:
            for _ in range(increments):
                box.n += 1
    elif pattern == "read–call–write":
        def body() -> None:
            for _ in range(increments):
                n = box.n
                call()
                box.n = n + 1
    elif pattern == "itertools.count":
        def body() -> None:
            for _ in range(increments):
                next(counter)
    elif pattern == "lock":
        def body() -> None:
            for _ in range(increments):
                with lock:
                    box.n += 1
    else:  # per-thread: no shared state while counting, one locked append at the end
        def body() -> None:
            local.n = 0
            for _ in range(increments):
                local.n += 1
            with lock:
                totals.append(local.n)

    def read() -> int:
        if pattern == "itertools.count":
            return next(counter)  # the next value is the number of increments so far
        return sum(totals) if pattern == "per-thread" else box.n

    return body, read


def count(pattern: str, threads: int = 2, increments: int = 100_000, *,
          call: Callable[[], object] = _noop, timeout_s: float = 60.0) -> CounterResult:
    """Increment one counter ``increments`` times from each of ``threads`` threads.

    Args:
        pattern: one of :data:`PATTERNS`.
        threads: how many threads, started together from a barrier (>= 1).
        increments: increments per thread (>= 1).
        call: what read–call–write does between its read and its write (a no-op by
            default; a barrier makes the lost update happen on every increment).
        timeout_s: bound for the whole run (> 0).

    Raises:
        ValueError: for an unknown pattern or a count below 1.
        HangError: if a thread is still running after ``timeout_s``.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    knobs.integer("threads", threads)
    knobs.integer("increments", increments)
    knobs.seconds("timeout_s", timeout_s)
    body, read = _loop(pattern, increments, call)
    start = threading.Barrier(threads + 1)  # release every thread at once

    def work() -> None:
        start.wait(timeout_s)
        body()

    workers = [threading.Thread(target=work, name=f"counter-{i}", daemon=True)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait(timeout_s)
    began = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - began
    if any(w.is_alive() for w in workers):
        raise HangError(f"counter threads still running after {timeout_s}s")
    return CounterResult(pattern, threads, threads * increments, read(), wall)
