"""Bounded waits and thread hammers: everything in the book that can hang runs through here.

Two tools:

* :func:`bounded` runs a callable or a coroutine function on a worker thread under a hard
  time bound and returns an :class:`Outcome` instead of hanging the caller. A notebook
  cell, a test or the CLI can therefore *show* a deadlock and still finish.
* :func:`hammer` releases N threads at once from a barrier, each making M calls, and keeps
  every result, exception and timing, so that races are provoked on purpose rather than by
  luck, and nothing a thread saw is lost.

Concurrency: both are safe to call from any thread, including from inside a running event
loop (a Jupyter cell): coroutines get a fresh loop on the worker thread, never the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

__all__ = ["Call", "HammerResult", "HangError", "Outcome", "bounded", "hammer", "progress"]

T = TypeVar("T")
Item = TypeVar("Item")

#: Set (to anything) to turn progress bars off: the tests and `make notebooks` do, so that
#: stored notebook outputs hold results, not the remains of a progress bar.
NO_PROGRESS_ENV = "DEMOS_NO_PROGRESS"
Status = Literal["ok", "hung", "raised"]

#: How long a hung worker gets to finish after it is cancelled (or its cancel hook ran).
DEFAULT_GRACE_S = 1.0

_serial = itertools.count(1)


class HangError(TimeoutError):
    """Raised when work outlives its bound: by Outcome.unwrap() and by hammer()."""


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What happened to one bounded call.

    Attributes:
        status: ``"ok"`` (returned in time), ``"raised"`` (raised in time) or ``"hung"``
            (still running when the bound expired).
        value: the return value when ``status == "ok"``.
        error: the exception when ``status == "raised"``.
        elapsed_s: seconds until it returned, raised, or the bound expired.
        cleaned_up: False only when a hung worker was still running after cancellation
            and the grace period. It is a daemon thread, so it cannot block interpreter exit.
        worker: the name of the worker thread, for reading thread dumps.
    """

    status: Status
    elapsed_s: float
    value: T | None = None
    error: BaseException | None = None
    cleaned_up: bool = True
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def hung(self) -> bool:
        return self.status == "hung"

    def unwrap(self) -> T:
        """Return the value, re-raise the error, or raise HangError for a hang."""
        if self.status == "raised":
            assert self.error is not None
            raise self.error
        if self.status == "hung":
            raise HangError(f"{self.worker} still running after {self.elapsed_s:.2f}s")
        return self.value  # type: ignore[return-value]

    def __str__(self) -> str:
        detail = {
            "ok": lambda: f"returned {self.value!r}",
            "raised": lambda: f"raised {type(self.error).__name__}: {self.error}",
            "hung": lambda: "hung" + ("" if self.cleaned_up else " (worker could not be stopped)"),
        }[self.status]()
        return f"{detail} after {self.elapsed_s:.3f}s"


@dataclass(slots=True)
class _Box:
    """What the worker thread hands back. Written by the worker before `done` is set."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None
    # Guards `loop`: set by the worker, read by the caller to cancel tasks on timeout.
    lock: threading.Lock = field(default_factory=threading.Lock)
    loop: asyncio.AbstractEventLoop | None = None


def bounded(
    target: Callable[..., Any],
    timeout_s: float,
    *args: Any,
    cancel: Callable[[], object] | None = None,
    grace_s: float = DEFAULT_GRACE_S,
    name: str | None = None,
    **kwargs: Any,
) -> Outcome[Any]:
    """Run ``target(*args, **kwargs)`` with a hard bound of ``timeout_s`` seconds.

    ``target`` may be a plain callable or a coroutine function (anything whose call returns
    a coroutine): a coroutine runs on a fresh event loop on the worker thread.

    On timeout, a coroutine's tasks are all cancelled; ``cancel`` (if given) is called to
    unblock a plain callable (set an event, close a queue, shut a pool down). The worker then
    gets ``grace_s`` seconds to finish, so that nothing is left running behind the caller.

    Args:
        target: what to run.
        timeout_s: the bound, in seconds (> 0).
        cancel: a hook that unblocks ``target`` after a timeout.
        grace_s: how long to wait for the worker after cancelling it (>= 0).
        name: a label for the worker thread (``bounded-<name>``), for thread dumps.

    Returns:
        An :class:`Outcome`; this function itself never raises what ``target`` raised.

    Raises:
        ValueError: if ``timeout_s <= 0`` or ``grace_s < 0``.

    Concurrency: blocks the caller for at most ``timeout_s + grace_s`` plus the cancel
    hook's own time. The worker is a daemon thread and never blocks interpreter exit.
    """
    if not callable(target):
        raise TypeError(f"target must be callable, got {type(target).__name__}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    if not grace_s >= 0:
        raise ValueError(f"grace_s must be >= 0, got {grace_s!r}")
    label = name or getattr(target, "__qualname__", "call")
    worker_name = f"bounded-{label}-{next(_serial)}"
    box = _Box()
    worker = threading.Thread(
        target=_run_in_worker, args=(box, target, args, kwargs, worker_name),
        name=worker_name, daemon=True,
    )
    start = time.perf_counter()
    worker.start()
    finished = box.done.wait(timeout_s)
    elapsed = time.perf_counter() - start
    if finished:
        worker.join(grace_s)  # it has set `done`; only its last few bytecodes remain
        if box.error is not None:
            return Outcome("raised", elapsed, error=box.error, worker=worker_name)
        return Outcome("ok", elapsed, value=box.value, worker=worker_name)
    _cancel_loop(box)
    if cancel is not None:
        cancel()
    box.done.wait(grace_s)
    worker.join(grace_s if box.done.is_set() else 0)
    return Outcome("hung", elapsed, cleaned_up=not worker.is_alive(), worker=worker_name)


def _run_in_worker(
    box: _Box, target: Callable[..., Any], args: tuple, kwargs: dict, name: str
) -> None:
    try:
        result = target(*args, **kwargs)
        if inspect.iscoroutine(result):
            result = _run_coroutine(box, result, name)
        box.value = result
    except BaseException as error:  # reported through the Outcome, never lost
        box.error = error
    finally:
        box.done.set()


def _run_coroutine(box: _Box, coro: Any, name: str) -> Any:
    loop = asyncio.new_event_loop()
    with box.lock:
        box.loop = loop
    try:
        task = loop.create_task(coro, name=name)
        return loop.run_until_complete(task)
    finally:
        with box.lock:
            box.loop = None
        try:
            _cancel_remaining_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _cancel_remaining_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every task still on ``loop`` and let them unwind, as asyncio.run() does."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _cancel_loop(box: _Box) -> None:
    with box.lock:
        loop = box.loop
        if loop is None:
            return

        def cancel_all() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        # RuntimeError: the loop closed between our check and the call; nothing to cancel.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(cancel_all)


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
    bar = _progress_bar(threads * calls_per_thread, name) if progress else None
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


def progress(iterable: Iterable[Item], *, desc: str, total: int | None = None) -> Iterable[Item]:
    """Show a ``tqdm.auto`` progress bar over a loop a reader waits on for seconds.

    In Jupyter it is a widget, in a terminal a text bar; it disappears when the loop ends.
    With ``DEMOS_NO_PROGRESS`` set it returns ``iterable`` unchanged.
    """
    bar = _progress_bar(total if total is not None else _length(iterable), desc)
    if bar is None:
        return iterable
    return _advancing(iterable, bar)


def _advancing(iterable: Iterable[Item], bar: Any) -> Iterator[Item]:
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def _progress_bar(total: int | None, desc: str) -> Any:
    """A closable tqdm bar, or None when progress bars are turned off."""
    if os.environ.get(NO_PROGRESS_ENV):
        return None
    from tqdm.auto import tqdm

    tqdm.monitor_interval = 0  # no monitor thread left behind after the bar closes
    return tqdm(total=total, desc=desc, leave=False)
