"""Batching: a lone request must be answered, not held until a batch fills (chapter 3).

A micro-batcher that flushes only full batches answers a burst of concurrent requests and
never a request that arrives alone: at night, on a quiet replica, or a readiness probe's
request. Discovery sees it first: a lone valid request gets no answer within the request
timeout. :func:`discover` then sends one bounded burst of concurrent requests; if the
burst is answered, the lone request's hang is the batcher's, not the service's, and the
probe carries every later request inside a burst (:meth:`demos.probe.client.Client.send`,
carry mode) so that the other checks still see the rest of the service. :func:`run`
reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from demos.probe.checks import Context, finding
from demos.probe.client import Outcome
from demos.probe.report import Finding
from demos.probe.texts import TEXTS

__all__ = ["BURST", "NAME", "discover", "run"]

NAME = "batching"
CHAPTER = 3
#: The burst (concurrent one-text requests) sent once when a lone request got no answer.
BURST = 64
#: How long the burst may take to get its first answer, then how long the rest get.
BURST_WAIT_S = 10.0
REST_S = 1.0
FIX = ("flush a batch when it is full OR when its oldest request has waited max_wait_s (a few "
       "milliseconds); give every request a deadline (504 past it) so that nothing waits "
       "forever; see chapter 3")


async def discover(ctx: Context, lone: Outcome) -> Outcome:
    """After ``lone`` (a valid request alone) timed out: does a burst get answers?

    If it does, carry mode is on (``ctx.client.burst``) and the first request is sent again,
    carried; otherwise ``lone`` is returned and discovery reports the hang as it is.
    """
    size = min(BURST, ctx.clients)
    bound = ctx.bound(BURST_WAIT_S)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(ctx.client.embed([TEXTS[i % len(TEXTS)]], timeout_s=bound))
             for i in range(size)]
    await asyncio.wait(tasks, timeout=bound, return_when=asyncio.FIRST_COMPLETED)
    if any(t.done() and t.result().ok for t in tasks):
        await asyncio.wait(tasks, timeout=REST_S)
    took = time.monotonic() - t0
    for task in tasks:
        task.cancel()
    answered = 0
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            answered += (await task).ok
    if not answered:
        ctx.notes.append(f"batching: a lone request and a burst of {size} concurrent requests "
                         "both got no answer")
        return lone
    ctx.client.burst = size
    ctx.carry_evidence = [
        f"a lone request got no answer within {lone.seconds:.1f} s: {lone.evidence()}",
        f"a burst of {size} concurrent one-text requests: {answered} answered within "
        f"{took:.1f} s"]
    ctx.progress(f"a lone request is not answered, a burst of {size} is: from now on every "
                 f"request is carried inside a burst (up to {size} companion requests)")
    return await ctx.client.embed([TEXTS[0]], timeout_s=ctx.bound(ctx.client.timeout_s))


async def run(ctx: Context) -> list[Finding]:
    """A finding when discovery had to carry requests inside bursts; nothing else to send."""
    if not ctx.client.burst:
        return []
    return [finding(NAME, CHAPTER, "a lone request is never answered, but a burst of concurrent "
                    "requests is: the batcher waits for a full batch (and no deadline ends "
                    "the wait)", ctx.carry_evidence, FIX)]
