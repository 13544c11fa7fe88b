"""A micro-batcher that hangs, in each of the ways marked ``# PITFALL:``.

Same names and signatures as ``fixed.py``. Do not deploy this file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from demos.batching import _base
from demos.batching._base import CLOSE, BatcherBase, BatcherClosedError, ModelFn, Request

__all__ = ["BatcherClosedError", "MicroBatcher", "encode_documents"]


class MicroBatcher(BatcherBase):
    """Groups concurrent ``submit()`` calls into batches for one ``model_fn`` call each.

    ``async with MicroBatcher(model_fn, max_batch=32, max_wait_s=0.005) as batcher:``
    then ``y = await batcher.submit(x)`` from any number of tasks.

    Args:
        model_fn: a list of items in, one output per item out.
        max_batch: items per model call (>= 1).
        max_wait_s: accepted, but see ``_run``.
        max_queue: most queued requests; beyond it ``submit()`` waits (backpressure).
        warmup: if not None, a warm-up request is served before anything else.
        max_batch_tokens, size_fn: accepted and ignored: batches are cut by count.
    """

    async def _run(self) -> None:
        await self._serve()  # PITFALL: if this task dies, queued requests wait forever

    async def _serve(self) -> None:
        if self._warmup is not None:
            await self.submit(self._warmup)  # PITFALL: awaits a request only this task serves
        while True:
            batch: list[Request] = []
            while len(batch) < self._max_batch:  # PITFALL: a full batch, however long it takes
                request = await self._queue.get()
                if request is CLOSE:
                    if batch:
                        await self._flush(batch)
                    return
                batch.append(request)
            await self._flush(batch)

    async def _flush(self, batch: list[Request]) -> None:
        outputs = self._call([r.item for r in batch])  # PITFALL: an exception ends the loop
        for request, output in zip(batch, outputs, strict=False):
            request.future.set_result(output)  # PITFALL: InvalidStateError if it was cancelled
        self._batches += 1

    def _call(self, items: list[Any]) -> Sequence[Any]:
        # PITFALL: the model runs on the event loop's thread; nothing else runs meanwhile.
        return self._model_fn(items)

    def submit_threadsafe(self, item: Any, timeout_s: float | None = _base.BOUND_S) -> Any:
        """``submit()`` for code on another thread: blocks until the output arrives.

        Raises:
            TimeoutError: after ``timeout_s`` seconds (explicit None: no bound).
        """
        if self._loop is None:
            raise RuntimeError("submit_threadsafe() called outside `async with` the batcher")
        # PITFALL: on the loop's own thread, result() blocks the loop that must answer it.
        future = asyncio.run_coroutine_threadsafe(self.submit(item), self._loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise


def encode_documents(
    pool: ThreadPoolExecutor,
    model_fn: ModelFn,
    documents: Sequence[Sequence[Any]],
    *,
    timeout_s: float | None = _base.BOUND_S,
) -> list[list[Any]]:
    """Run ``model_fn`` on every chunk of every document in ``pool``; outputs per document.

    Concurrency: blocks the caller until all chunks are done, at most ``timeout_s``
    seconds overall (explicit None: no bound).
    """
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s!r}")

    def one_document(doc: Sequence[Any]) -> list[Any]:
        chunks = [pool.submit(model_fn, [chunk]) for chunk in doc]
        return [job.result()[0] for job in chunks]  # PITFALL: a pool task waits on its own pool

    jobs = [pool.submit(one_document, doc) for doc in documents]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    return [job.result(_base.seconds_left(deadline)) for job in jobs]

