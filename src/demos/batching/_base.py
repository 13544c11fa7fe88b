"""What the broken and fixed batchers share: requests, arguments, and the batcher's lifecycle.

``broken.py`` and ``fixed.py`` subclass :class:`BatcherBase` and differ only in how they
batch, call the model and deliver results, so their diff is the lesson.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

#: The bound on a blocking call when the caller does not pass one: long enough for any
#: batch in this book, short enough that a hang shows up as an error instead of a freeze.
BOUND_S = 30.0


def seconds_left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (a ``time.monotonic()`` value), never negative."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


__all__ = ["CLOSE", "BatchStatistics", "BatcherBase", "BatcherClosedError", "ModelFn", "Request"]

#: A model function: a list of items in, one output per item out, in the same order.
ModelFn = Callable[[list[Any]], Sequence[Any]]

#: Put on the queue by ``__aexit__`` behind the requests already queued: "drain, then stop".
CLOSE: Any = object()


class BatcherClosedError(RuntimeError):
    """Raised by submit() after close, and for requests the batcher stopped before serving."""


@dataclass(slots=True)
class Request:
    """One queued item and the future its client awaits."""

    item: Any
    future: asyncio.Future[Any]
    queued_at: float  # loop.time() when submit() was called
    size: int = 1  # its cost in a batch, e.g. its tokens (size_fn); padded cost = rows × max

    def resolve(self, value: Any) -> None:
        """Set the result unless the client already gave up (cancelled) or got an answer."""
        if not self.future.done():
            self.future.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


@dataclass(frozen=True, slots=True)
class BatchStatistics:
    """A snapshot of a batcher: what it has done and what is waiting."""

    batches: int
    requests: int
    queued: int
    running: bool


def check_args(model_fn: Any, max_batch: Any, max_wait_s: Any, max_queue: Any,
               max_batch_tokens: Any = None, size_fn: Any = None) -> None:
    """Reject bad constructor arguments with a message naming the parameter and the value."""
    if not callable(model_fn):
        raise TypeError(f"model_fn must be callable, got {type(model_fn).__name__}")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f"max_batch must be an int >= 1, got {max_batch!r}")
    if isinstance(max_wait_s, bool) or not isinstance(max_wait_s, (int, float)) \
            or not max_wait_s >= 0 or max_wait_s == float("inf"):
        raise ValueError(f"max_wait_s must be a finite number >= 0, got {max_wait_s!r}")
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
        raise ValueError(f"max_queue must be an int >= 1, got {max_queue!r}")
    if max_batch_tokens is not None and (isinstance(max_batch_tokens, bool) or not isinstance(
            max_batch_tokens, int) or max_batch_tokens < 1):
        raise ValueError(f"max_batch_tokens must be an int >= 1 or None, got {max_batch_tokens!r}")
    if size_fn is not None and not callable(size_fn):
        raise TypeError(f"size_fn must be callable or None, got {type(size_fn).__name__}")


class BatcherBase:
    """The lifecycle of a micro-batcher: ``async with`` starts its task, exit drains it.

    Subclasses implement ``_run()`` (the batching loop) and ``submit_threadsafe()``.

    Concurrency: enter, submit and exit on one event loop. ``submit()`` is safe from many
    tasks on that loop; it waits for room while ``max_queue`` requests are queued
    (backpressure), then for its result. A client cancelled while queued leaves its
    request in the queue, cancelled; what happens to it is up to the batching loop.
    On a clean exit, queued requests are served first; on an exit by exception or
    cancellation, the loop is cancelled and queued requests fail with BatcherClosedError.
    If the batching task died of an exception, a clean exit re-raises it.
    """

    def __init__(
        self,
        model_fn: ModelFn,
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.005,
        max_queue: int = 1024,
        warmup: Any = None,
        max_batch_tokens: int | None = None,
        size_fn: Callable[[Any], int] | None = None,
    ) -> None:
        check_args(model_fn, max_batch, max_wait_s, max_queue, max_batch_tokens, size_fn)
        self._model_fn = model_fn
        self._max_batch = max_batch
        self._max_batch_tokens = max_batch_tokens
        self._size_fn = size_fn
        self._max_wait_s = float(max_wait_s)
        self._warmup = warmup
        self._queue: asyncio.Queue[Any] = asyncio.Queue(max_queue)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0  # threading.get_ident() of the loop's thread
        self._task: asyncio.Task[None] | None = None
        # The model's own thread; the loop never runs the model itself (if done right).
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False  # no new requests: set by __aexit__
        self._stopped = False  # the loop has exited and failed whatever was left
        self._inflight: list[Request] = []  # in the model call, not yet answered
        self._held: list[Request] = []  # taken from the queue, not yet in a model call
        self._batches = 0
        self._requests = 0

    async def __aenter__(self) -> BatcherBase:
        if self._task is not None:
            raise RuntimeError("a batcher can be entered only once")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="batcher-model")
        self._task = asyncio.create_task(self._run(), name="batcher-loop")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        assert self._task is not None and self._pool is not None
        try:
            if kind is None and not self._task.done():
                await self._queue.put(CLOSE)  # behind the queued requests: they are served
                await self._task
            else:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
        died = None if self._task.cancelled() else self._task.exception()
        if kind is None and died is not None:
            raise died  # the batching task died earlier: say so, rather than exit quietly

    async def submit(self, item: Any) -> Any:
        """Queue one item and await its output (or the model's exception for its batch).

        Raises:
            BatcherClosedError: after the batcher was closed, or when it stopped first.
        """
        if self._closed:
            raise BatcherClosedError("submit() called after the batcher was closed")
        if self._loop is None:
            raise RuntimeError("submit() called outside `async with` the batcher")
        request = Request(item, self._loop.create_future(), self._loop.time())
        await self._queue.put(request)  # backpressure: waits while the queue is full
        self._requests += 1
        if self._stopped:  # the loop ended while we waited for room: nobody will serve us
            request.fail(BatcherClosedError("the batcher stopped before serving this request"))
        return await request.future

    def statistics(self) -> BatchStatistics:
        running = self._task is not None and not self._task.done()
        return BatchStatistics(self._batches, self._requests, self._queue.qsize(), running)

    def __repr__(self) -> str:
        s = self.statistics()
        return (f"<{type(self).__name__} max_batch={self._max_batch} "
                f"max_wait_s={self._max_wait_s} queued={s.queued} batches={s.batches} "
                f"running={s.running}>")

    def _fail_leftovers(self) -> None:
        """Fail every request taken or queued but not answered; later submit()s fail too."""
        self._stopped = True
        leftover = [*self._inflight, *self._held]
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
        stopped = BatcherClosedError("the batcher stopped before serving this request")
        for request in leftover:
            if request is not CLOSE:
                request.fail(stopped)

    async def _run(self) -> None:
        raise NotImplementedError

    def submit_threadsafe(self, item: Any, timeout_s: float | None = BOUND_S) -> Any:
        raise NotImplementedError
