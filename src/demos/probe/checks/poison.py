"""Poison: one request that makes the model fail must not break the requests after it (ch. 3).

The poison is valid JSON whose text holds a lone surrogate (``"\\ud800"``): Python's JSON
parser accepts it, a str-typed field accepts it, and the Rust tokenizer (``tokenizers``)
raises when it converts the string. A service that validates it answers a 4xx; one that
does not sends it into a batch, where the exception fails that batch. Either is fine. What
must not happen: the poison hangs, or the batching task dies with it and the requests
after it hang or fail. Four valid requests travel with the poison (they may share its
batch and its fate); four after it must all be served, right, within a deadline. If the
service survives that, a second poison follows the same way: a text past the model's limit
sent without truncation (a 4xx or a cut text is fine; a model handed more positions than
it has raises for the whole batch, and a batching loop without a try/except dies of it).
"""

from __future__ import annotations

import asyncio
import json

from demos.probe.checks import Context, finding
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, long_words, same

__all__ = ["AFTER", "NAME", "POISON", "run"]

NAME = "poison"
CHAPTER = 3
POISON = "a cat \ud800 sits on the mat"
POISON_LABEL = "a text holding a lone surrogate \\ud800"
LONG_LABEL = "a text of 1100 words, past the model's limit, without truncate"
AFTER = 4
#: Each request's deadline here: a service answers a failing batch at once, or has hung.
DEADLINE_S = 6.0
WAIT_S = 2.0
FIX = ("catch every exception around a batch (tokenizer and model) inside the batching loop, "
       "fail only that batch's requests with a clear error, and keep the loop running; better, "
       "reject such input before it is batched")


async def run(ctx: Context) -> list[Finding]:
    """The lone surrogate; then, if the service survived it, a text past the model's limit
    sent without truncation (a tokenizer that does not cut it hands the model more
    positions than it has: the model raises for that batch)."""
    truncating, ctx.client.truncating_companions = ctx.client.truncating_companions, False
    try:  # carry mode: companions as the poison's own request, without truncation
        await ctx.client.settle()
        for label, texts in ((POISON_LABEL, [POISON]), (LONG_LABEL, [" ".join(long_words())])):
            found = await _poison(ctx, label, texts)
            if found:
                return found
        return []
    finally:
        ctx.client.truncating_companions = truncating


async def _poison(ctx: Context, label: str, texts: list[str]) -> list[Finding]:
    raw = json.dumps(ctx.client.body(texts)).encode()  # ensure_ascii: sent as \ud800
    bound = ctx.bound(min(DEADLINE_S, ctx.client.timeout_s))
    company = [asyncio.create_task(ctx.client.embed([TEXTS[i]], timeout_s=bound))
               for i in range(4)]
    poisoned = asyncio.create_task(ctx.client.send(
        "POST", ctx.client.path, content=raw, headers={"content-type": "application/json"},
        timeout_s=bound))
    # "After" = once the poison is answered, or has had WAIT_S: a hung poison must not
    # hold the follow-ups back (the runner's check after this one catches a later death).
    await asyncio.wait([poisoned], timeout=min(WAIT_S, bound))
    after = await asyncio.gather(*(ctx.client.embed([TEXTS[i]], timeout_s=bound)
                                   for i in range(AFTER)))
    first = await poisoned
    first.request = f"POST ({label})"
    bad = [] if first.status is not None else [f"the poison itself: {first.evidence()}"]
    await asyncio.gather(*company)  # they may share the poison's batch and fail: not judged
    for i, outcome in enumerate(after):
        if not outcome.ok:
            bad.append(f"request {i} after the poison: {outcome.evidence()}")
            ctx.broken = ctx.broken or outcome
        elif ctx.comparable and not same(outcome.vectors[0], ctx.alone[i],  # type: ignore[index]
                                         ctx.min_cosine) and not ctx.wrong_answers_seen:
            bad.append(f"request {i} after the poison: a wrong vector")
    ctx.notes.append(f"poison ({label}): answered {first.status or first.ended}"
                     + (f" ({first.message[:80]})" if first.message else ""))
    if not bad:
        return []
    return [finding(NAME, CHAPTER, "after one request that makes the model fail, "
                    f"{len(bad)} request(s) hung, failed or came back wrong",
                    [first.evidence(), *bad], FIX)]
