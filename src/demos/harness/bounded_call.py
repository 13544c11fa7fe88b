"""One call under a hard time bound: a hang becomes an :class:`Outcome`, not a stuck caller.

The call runs on a daemon worker thread; the caller waits on an event with a timeout. On a
timeout the worker is cancelled (a coroutine's tasks, or the caller's ``cancel`` hook) and
given a grace period, so that nothing is left running behind a notebook cell or a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

__all__ = ["DEFAULT_GRACE_S", "HangError", "Outcome", "bounded"]

T = TypeVar("T")

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
