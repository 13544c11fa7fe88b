"""A micro-batcher that holds: deadline flushes, the model off the loop, nothing waits on itself.

Same names and signatures as ``broken.py``; every difference is marked ``# FIX:``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from demos.batching import _base
from demos.batching._base import CLOSE, BatcherClosedError, ModelFn, Request
from demos.batching._token_budget import HOLD, TokenBudgetBatcher

__all__ = ["BatcherClosedError", "MicroBatcher", "encode_documents"]


class MicroBatcher(TokenBudgetBatcher):
    """Groups concurrent ``submit()`` calls into batches for one ``model_fn`` call each.

    ``async with MicroBatcher(model_fn, max_batch=32, max_wait_s=0.005) as batcher:``
    then ``y = await batcher.submit(x)`` from any number of tasks.

    Args:
        model_fn: a list of items in, one output per item out; it runs on the batcher's
            own worker thread, never on the event loop.
        max_batch: most items per model call (>= 1); it holds up to ``HOLD × max_batch``
            queued requests to sort and cut.
        max_wait_s: how long a request may be passed over for shorter ones (>= 0); after
            that, oldest first. The model never waits for company: when it is idle,
            whatever is queued goes at once.
        max_queue: most queued requests; beyond it ``submit()`` waits (backpressure).
        warmup: if not None, ``model_fn([warmup])`` runs once before serving.
        max_batch_tokens: most padded tokens per call, rows × the largest ``size_fn``
            (>= 1, None: no bound); a larger item goes alone.
        size_fn: an item's tokens, e.g. ``lambda t: len(tokenizer.encode(t))``
            (None: every item costs 1). It runs on the event loop: keep it cheap.

    Concurrency: the batching loop is its own task ("batcher-loop"). What it holds is
    sorted by size and cut (``_token_budget.TokenBudgetBatcher``) so one long item does not
    pad many short ones. A cancelled request is skipped. A model exception fails that
    batch's requests, never the batcher.
    """

    async def _run(self) -> None:
        try:
            await self._serve()
        finally:
            self._fail_leftovers()  # FIX: however the loop ends, no request is left waiting

    async def _serve(self) -> None:
        if self._warmup is not None:
            await self._call([self._warmup])  # FIX: call the model; never await submit() here
        closing = False
        while not closing or self._held:
            if not self._held:  # idle: wait for one request, never for company
                first = await self._queue.get()
                if first is CLOSE:
                    return
                self._hold(first)
            while len(self._held) < HOLD * self._max_batch:
                try:
                    nxt = self._queue.get_nowait()  # take what is already queued
                except asyncio.QueueEmpty:
                    break  # FIX: no idle wait: the model is free, so the batch goes now
                if nxt is CLOSE:
                    closing = True
                    break
                self._hold(nxt)
            await self._flush(self._next_batch())  # FIX: sorted, cut by a token budget

    async def _flush(self, batch: list[Request]) -> None:
        live = [r for r in batch if not r.future.done()]  # FIX: skip cancelled requests
        if not live:
            return
        self._inflight = live
        try:
            outputs = await self._call([r.item for r in live])
            if len(outputs) != len(live):
                raise ValueError(f"model_fn must return one output per item: "
                                 f"expected {len(live)}, got {len(outputs)}")
        except Exception as error:  # FIX: a failing batch fails its requests, not the batcher
            for request in live:
                request.fail(error)
        else:
            for request, output in zip(live, outputs, strict=True):
                request.resolve(output)  # FIX: no-op for a request cancelled meanwhile
        self._inflight = []  # not on cancellation: then _fail_leftovers() fails them
        self._batches += 1

    async def _call(self, items: list[Any]) -> Sequence[Any]:
        loop = asyncio.get_running_loop()
        # FIX: the model runs on the batcher's worker thread; the loop stays responsive.
        return await loop.run_in_executor(self._pool, self._model_fn, items)

    def submit_threadsafe(self, item: Any, timeout_s: float | None = _base.BOUND_S) -> Any:
        """``submit()`` for code on another thread: blocks until the output arrives.

        Raises:
            RuntimeError: if called on the batcher's own event-loop thread, where blocking
                would stop the loop that must answer.
            TimeoutError: after ``timeout_s`` seconds (explicit None: no bound); the request is
                then cancelled.
        """
        if self._loop is None:
            raise RuntimeError("submit_threadsafe() called outside `async with` the batcher")
        if threading.get_ident() == self._loop_thread:  # FIX: refuse to block our own loop
            raise RuntimeError("submit_threadsafe() called on the batcher's event-loop thread, "
                               "which it would block forever; use `await submit(item)` there")
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
    seconds overall (explicit None: no bound; on timeout the unstarted chunks are cancelled and
    TimeoutError is raised). Safe to call with a pool of any size.
    """
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s!r}")
    # FIX: only leaf tasks go into the pool; the caller, not a pool worker, waits for them.
    jobs = [[pool.submit(model_fn, [chunk]) for chunk in doc] for doc in documents]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        return [[job.result(_base.seconds_left(deadline))[0] for job in doc] for doc in jobs]
    except BaseException:
        for job in (j for doc in jobs for j in doc):
            job.cancel()
        raise

