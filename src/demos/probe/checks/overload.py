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
FIX = ("bound the queue (or the requests in flight) and answer 503 with Retry-After when it "
       "is full; give every request a deadline; never let 'queue full' escape as a 500")


async def run(ctx: Context) -> list[Finding]:
    keys = [i % len(TEXTS) for i in range(ctx.clients)]
    deadline = ctx.bound(DEADLINE_S)
    outcomes = await asyncio.gather(*(ctx.client.embed([TEXTS[k]], timeout_s=deadline)
                                      for k in keys))
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
                     f"(429/503), {len(bad)} bad, {wrong} wrong vectors; slowest {slowest:.2f} s")
    if not bad:
        return []
    return [finding(NAME, CHAPTER, f"{len(bad)} of {ctx.clients} concurrent requests ended "
                    "badly (not a 200 with the right vector, nor a 429/503 in time)", bad, FIX)]
