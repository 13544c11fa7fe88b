"""Cancellation: clients that give up mid-flight must not break the service (chapter 3).

A burst of requests goes out; as soon as the first answer comes back (the service is
working on the rest), the probe abandons all the others, closing their connections, as
clients with a short timeout or a user closing a tab do. Then a request must complete,
with the right vector, within a deadline. A batcher that sets a result on a cancelled
future dies (ray#50046): every later request hangs until the client's own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib

from demos.probe.checks import Context, finding
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, same

__all__ = ["BURST", "NAME", "run"]

NAME = "cancellation"
CHAPTER = 3
BURST = 32
DEADLINE_S = 10.0
FIX = ("in the batching loop, skip futures that are already done (cancelled) and never let one "
       "request's failure end the loop; keep a per-request deadline; readiness must report a "
       "dead batcher")


async def run(ctx: Context) -> list[Finding]:
    text = TEXTS[-1]  # the longest: the service is busy while the burst is abandoned
    tasks = [asyncio.create_task(ctx.client.embed([text], timeout_s=ctx.bound(20.0)))
             for _ in range(BURST)]
    done, pending = await asyncio.wait(tasks, timeout=ctx.bound(5.0),
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    ctx.notes.append(f"cancellation: {len(pending)} of {BURST} requests abandoned mid-flight")
    if not pending:
        ctx.notes.append("cancellation: every request came back before any could be "
                         "abandoned; the service was too fast for this burst")
    await asyncio.sleep(0.2)  # let the service notice the closed connections
    deadline = min(DEADLINE_S, ctx.client.timeout_s)
    after = await ctx.client.embed([TEXTS[0]], timeout_s=ctx.bound(deadline))
    if after.ok and (not ctx.comparable or same(after.vectors[0],  # type: ignore[index]
                                                 ctx.alone[0], ctx.min_cosine)):
        return []
    ctx.broken = after if not after.ok else None
    return [finding(NAME, CHAPTER, f"after {len(pending)} requests were abandoned mid-flight, "
                    f"a new request was not served right within {deadline:.0f} s",
                    [f"{len(pending)} of {BURST} requests ({len(text)} characters each) "
                     "abandoned after the first answer", after.evidence()], FIX)]
