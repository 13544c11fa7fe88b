"""The textbook fix: a batch goes when it is full or its oldest request has waited long enough.

It holds in every case of the scenario, like ``fixed.py``, and differs from it only in
``_serve``: it waits up to ``max_wait_s`` for company even when the model is idle, and it
batches by count, in arrival order, so one long text pads every short one in its batch.
The chapter measures what that costs and shows ``fixed.py``'s answer as a diff.
"""

from __future__ import annotations

import asyncio

from demos.batching import fixed
from demos.batching._base import CLOSE

__all__ = ["MicroBatcher", "encode_documents"]

NAME = "first fix"
encode_documents = fixed.encode_documents


class MicroBatcher(fixed.MicroBatcher):
    """``fixed.MicroBatcher`` with the deadline loop most first fixes have.

    ``max_batch_tokens`` and ``size_fn`` are accepted and ignored: batches are cut by
    count only.
    """

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        if self._warmup is not None:
            await self._call([self._warmup])  # FIX: call the model; never await submit() here
        closing = False
        while not closing:
            first = await self._queue.get()
            if first is CLOSE:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()  # take what is already queued
                except asyncio.QueueEmpty:
                    left = first.queued_at + self._max_wait_s - loop.time()  # FIX: a deadline
                    if left <= 0:
                        break
                    try:
                        nxt = await asyncio.wait_for(self._queue.get(), left)
                    except TimeoutError:
                        break
                if nxt is CLOSE:
                    closing = True
                    break
                batch.append(nxt)
            await self._flush(batch)
