"""Overload: more clients than the service serves get 429/503 or slower answers (chapter 3).

``--clients`` requests (64 by default) go out at once, of mixed lengths. Each must end in a
200 with the right vector, or a 429/503 (the service sheds load, ideally with
``Retry-After``), before the probe's deadline. A 5xx other than 503 (a queue that raises
when full), a request that hangs past the deadline, a dropped connection or a wrong vector
under load is a finding. The load is bounded: one wave, each request with a timeout.
"""

from __future__ import annotations

import asyncio

from demos.probe.checks import Context, finding
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, cosine, same

__all__ = ["DEADLINE_S", "NAME", "run"]

NAME = "overload"
CHAPTER = 3
DEADLINE_S = 30.0
#: Readiness slower than this under load and this many times its idle latency: something
#: blocks the event loop (a model call in an ``async def``), stalling every request. Seen
#: in review: 0.73-0.88 s against 0.002-0.006 s idle when blocked; 0.16-0.39 s against
#: 0.012 s for a sync readyz waiting for a thread of a busy pool (not blocked).
BLOCKED_S = 0.5
BLOCKED_RATIO = 100.0
FIX_LOOP = ("never run the model (or tokenizer) inside an async endpoint: await "
            "run_in_threadpool / loop.run_in_executor, or use a plain def endpoint")
FIX = ("bound the queue (or the requests in flight) and answer 503 with Retry-After when it "
       "is full; give every request a deadline; never let 'queue full' escape as a 500")


async def run(ctx: Context) -> list[Finding]:
    keys = [i % len(TEXTS) for i in range(ctx.clients)]
    idle = [o.seconds for o in [await ctx.ready_status() for _ in range(3)] if o is not None]
    deadline = ctx.bound(DEADLINE_S)
    wave = asyncio.gather(*(ctx.client.embed([TEXTS[k]], timeout_s=deadline) for k in keys))
    loaded = await _poll_readiness(ctx, wave)
    outcomes = await wave
    bad, served, shed, wrong = [], 0, 0, 0
    for key, outcome in zip(keys, outcomes, strict=True):
        if outcome.status in (429, 503):
            shed += 1
        elif not outcome.ok:
            bad.append(f"client {len(bad)}: {outcome.evidence()}")
        else:
            served += 1
            vector = outcome.vectors[0]  # type: ignore[index]
            if not ctx.comparable or same(vector, ctx.alone[key], ctx.min_cosine):
                continue
            wrong += 1
            if not ctx.wrong_answers_seen:  # else the concurrency finding already says so
                bad.append(f"text {key} under load: cosine {cosine(vector, ctx.alone[key]):.5f}"
                           " to its answer alone")
    slowest = max(o.seconds for o in outcomes)
    ctx.notes.append(f"overload: {ctx.clients} clients at once: {served} served, {shed} shed "
                     f"(429/503), {len(bad)} bad, {wrong} wrong vectors; slowest {slowest:.2f} s"
                     + (f"; readiness {min(idle):.3f} s idle, {loaded[0]:.2f} s under load"
                        if idle and loaded else ""))
    found = []
    if idle and loaded and loaded[0] > BLOCKED_S and loaded[0] > BLOCKED_RATIO * min(idle):
        found.append(finding(NAME, CHAPTER, f"readiness took {loaded[0]:.2f} s under load "
                             f"against {min(idle):.3f} s idle: the event loop is blocked",
                             [loaded[1], f"idle: {ctx.ready_path} in {min(idle):.3f} s"],
                             FIX_LOOP))
    if not bad:
        return found
    return [finding(NAME, CHAPTER, f"{len(bad)} of {ctx.clients} concurrent requests ended "
                    "badly (not a 200 with the right vector, nor a 429/503 in time)", bad,
                    FIX), *found]


async def _poll_readiness(ctx: Context, wave: asyncio.Future) -> tuple[float, str] | None:
    """The slowest of up to 3 readiness requests sent while ``wave`` is in flight."""
    slowest: tuple[float, str] | None = None
    for pause in (0.3, 0.1, 0.1):  # the first once the wave's requests are sent
        await asyncio.sleep(pause)
        if wave.done():
            break
        ready = await ctx.ready_status()
        if ready is None or ready.budget_out:
            return None
        if slowest is None or ready.seconds > slowest[0]:
            slowest = (ready.seconds, f"under load: {ready.evidence()} in {ready.seconds:.2f} s")
    return slowest
