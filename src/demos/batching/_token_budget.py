"""How the fixed batcher picks its next batch: what it holds, sorted by size, cut by tokens.

``fixed.py`` keeps what differs from ``broken.py``, so that their diff is the lesson. This
choice has no broken counterpart (the broken batcher sends whatever arrived, in arrival
order), so a diff has nothing to set it against: it lives here, in one piece, and the
chapter shows it as a listing.
"""

from __future__ import annotations

import asyncio

from demos.batching._base import BatcherBase, Request
from demos.models.encoder import token_batches

__all__ = ["HOLD", "TokenBudgetBatcher"]

#: How many batches' worth of queued requests the loop holds to sort: a wider window cuts
#: with less padding, and takes requests off the queue sooner (backpressure starts later).
HOLD = 4


class TokenBudgetBatcher(BatcherBase):
    """A batcher that holds requests with their sizes and sends them in token-budget cuts.

    A subclass's batching loop calls ``_hold()`` for each request it takes off the queue
    (up to ``HOLD × max_batch`` of them), then sends ``_next_batch()`` to the model.

    Concurrency: both run on the event loop, in the batching task only; neither blocks,
    but ``_hold()`` calls ``size_fn``, so a slow ``size_fn`` stalls the loop.
    """

    def _hold(self, request: Request) -> None:
        try:
            size = 1 if self._size_fn is None else self._size_fn(request.item)
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"size_fn must return an int >= 1, got {size!r}")
        except Exception as error:  # a bad item fails its own request only
            request.fail(error)
            return
        request.size = size
        self._held.append(request)

    def _next_batch(self) -> list[Request]:
        """Cut what is held by size; send the cut holding the oldest request if it is overdue,
        else the cut of the shortest requests."""
        live = [r for r in self._held if not r.future.done()]
        if not live:
            self._held.clear()
            return []
        budget = self._max_batch_tokens or self._max_batch * max(r.size for r in live)
        cuts = token_batches([r.size for r in live], max_batch=self._max_batch,
                             max_tokens=budget)
        oldest = min(range(len(live)), key=lambda i: live[i].queued_at)
        overdue = asyncio.get_running_loop().time() - live[oldest].queued_at >= self._max_wait_s
        chosen = next(c for c in cuts if oldest in c) if overdue else cuts[0]
        taken = set(chosen)
        self._held[:] = [r for i, r in enumerate(live) if i not in taken]
        return [live[i] for i in chosen]
