"""N threads released at once from one barrier, every call recorded: races on purpose.

Starting all threads together is what makes a race show up on every run instead of by
luck; keeping every result, exception and timing means nothing a thread saw is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from demos.harness.bounded_call import HangError
from demos.harness.progress_bars import progress_bar

__all__ = ["Call", "HammerResult", "hammer"]


@dataclass(frozen=True, slots=True)
class Call:
    """One call made by :func:`hammer`. Times are seconds after the barrier released."""

    thread: int
    index: int
    start_s: float
    end_s: float
    value: Any = None
    error: BaseException | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class HammerResult:
    """Every call a :func:`hammer` run made, in the order they finished."""

    threads: int
    calls_per_thread: int
    wall_s: float
    calls: tuple[Call, ...]

    @property
    def values(self) -> list[Any]:
        return [c.value for c in self.calls if c.error is None]

    @property
    def errors(self) -> list[BaseException]:
        return [c.error for c in self.calls if c.error is not None]

    @property
    def calls_per_s(self) -> float:
        return len(self.calls) / self.wall_s if self.wall_s > 0 else float("inf")


def hammer(
    fn: Callable[[int, int], Any],
    threads: int,
    calls_per_thread: int,
    *,
    timeout_s: float = 60.0,
    name: str = "hammer",
    progress: bool = False,
) -> HammerResult:
    """Call ``fn(thread, index)`` from ``threads`` threads, ``calls_per_thread`` times each.

    All threads wait on one barrier and start together, which is what makes a race show up
    on every run instead of by luck. Exceptions are recorded per call, never swallowed.

    Args:
        fn: the call to make; it gets the thread number and the call number.
        threads: how many threads (>= 1).
        calls_per_thread: how many calls each thread makes (>= 1).
        timeout_s: bound for the whole run, start barrier included (> 0).
        name: thread name prefix (threads are ``<name>-0`` …), for thread dumps.
        progress: show a ``tqdm`` bar (for runs a reader waits on for seconds).

    Returns:
        A :class:`HammerResult` with every :class:`Call`.

    Raises:
        HangError: if any thread is still running after ``timeout_s``; the threads are
            daemons, so a hung call never blocks interpreter exit.
        ValueError: for a thread or call count below 1, or a bound that is not positive.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    for arg, value in (("threads", threads), ("calls_per_thread", calls_per_thread)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be an int >= 1, got {value!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")

    barrier = threading.Barrier(threads + 1)  # the workers plus us: we note the start time
    # Guards `calls`: appended by every worker.
    lock = threading.Lock()
    calls: list[Call] = []
    bar = progress_bar(threads * calls_per_thread, name) if progress else None
    origin = [0.0]

    def work(thread: int) -> None:
        try:
            barrier.wait(timeout_s)
        except threading.BrokenBarrierError:
            return
        for index in range(calls_per_thread):
            start = time.perf_counter()
            value, error = None, None
            try:
                value = fn(thread, index)
            except Exception as exc:  # recorded per call, never swallowed
                error = exc
            end = time.perf_counter()
            call = Call(thread, index, start - origin[0], end - origin[0], value, error)
            with lock:
                calls.append(call)
            if bar is not None:
                bar.update(1)

    workers = [
        threading.Thread(target=work, args=(i,), name=f"{name}-{i}", daemon=True)
        for i in range(threads)
    ]
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.start()
    origin[0] = time.perf_counter()
    try:
        barrier.wait(timeout_s)
        origin[0] = time.perf_counter()  # the release: calls are timed from here
    except threading.BrokenBarrierError:
        pass
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - origin[0]
    if bar is not None:
        bar.close()
    alive = [w.name for w in workers if w.is_alive()]
    if alive:
        barrier.abort()
        raise HangError(f"{len(alive)} hammer thread(s) still running after {timeout_s}s: {alive}")
    with lock:
        done = tuple(calls)
    return HammerResult(threads, calls_per_thread, wall, done)
