"""Concurrency identity: a text sent among others gets the answer it gets alone (chapters 4, 6).

The same texts, of mixed lengths, go out at once (each alone in its request, all of them
shuffled in one request, and once a request of more texts than two batches hold, whose
batches run back to back), a few rounds; every answer must equal, within ``--min-cosine``,
what the text got when it was the only request in flight. A shared scratch buffer, a
"last input" attribute or a padding bug (chapter 4) breaks this. Then, where the API has
per-request truncation, requests with *different* options go out together: one long text
always cut on the right, another always on the left. An answer equal to its own text cut
the *other* way can only come from another request's option, set on one shared tokenizer
(chapter 6); a buffer shared by batches hands back other rows, never that one.
"""

from __future__ import annotations

import asyncio
import random

import numpy as np
import numpy.typing as npt

from demos.probe.checks import Context, Skip, finding
from demos.probe.client import Outcome
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, cosine, long_words, same

__all__ = ["NAME", "ROUNDS", "run"]

NAME = "concurrency"
ROUNDS = 2
#: Mixed-option requests go on (MIXED_WORKERS at a time, back to back) until this many long
#: ones went out, MIXED_S passed or an answer differed: a race on a shared tokenizer's option
#: shows in a few percent of requests (7 of 160 in a review), not in four.
MIXED_LONG = 200
MIXED_WORKERS = 16
MIXED_S = 20.0
#: Texts per batch assumed when the service does not say: a request of twice as many spans
#: batches that run back to back, where a buffer kept on the model is overwritten.
MANY_BATCH = 32
FIX_STATE = ("keep inference a pure function of its input: no buffer, cache or 'last input' on "
             "the model object shared by requests; pad and mask per batch; see chapter 4")
FIX_BATCH = ("pad each batch and pass its attention mask (and token types), pool over the mask: "
             "a text's answer must not depend on its neighbours; see chapter 4")
FIX_OPTIONS = ("never configure a shared tokenizer per request (enable_truncation/padding): "
               "configure once and cut the request's own encodings, or keep one tokenizer per "
               "option or per thread; see chapter 6")

Job = tuple[str, list[int], list[str], bool | None, str | None]  # label, keys, texts, opts


async def _round(ctx: Context, jobs: list[Job], expected: dict[int, npt.NDArray[np.float32]],
                 ) -> tuple[list[str], int]:
    """Send ``jobs`` at once; (mismatches and failures as evidence, answers compared)."""
    async def one(job: Job) -> tuple[Job, Outcome]:
        _, _, texts, truncate, direction = job
        return job, await ctx.client.embed(texts, truncate, direction, ctx.bound(15.0))

    bad, compared = [], 0
    for (label, keys, _, _, _), outcome in await asyncio.gather(*(one(j) for j in jobs)):
        if (outcome.status is not None and 400 <= outcome.status < 500) or outcome.status == 503:
            continue  # "later" (429/503), or a request shape it refuses (LitServe refuses
            # several texts per request when it batches): the bad_input check judges 4xx
        if not outcome.ok:
            bad.append(f"{label}: {outcome.evidence()}")
            continue
        assert outcome.vectors is not None
        for key, vector in zip(keys, outcome.vectors, strict=True):
            compared += 1
            if not same(vector, expected[key], ctx.min_cosine):
                bad.append(f"{label}: text {key} came back with cosine "
                           f"{cosine(vector, expected[key]):.5f} to its answer alone")
    return bad, compared


async def run(ctx: Context) -> list[Finding]:
    if not ctx.comparable:
        raise Skip("the service's vectors are not comparable (see the precision finding)")
    rng = random.Random(0)
    expected = dict(enumerate(ctx.alone))
    bad, compared = [], 0
    for round_ in range(ROUNDS):
        order = rng.sample(range(len(TEXTS)), len(TEXTS))
        jobs: list[Job] = [(f"text {i} alone", [i], [TEXTS[i]], None, None) for i in order]
        jobs.append(("all texts in one request", order, [TEXTS[i] for i in order], None, None))
        if round_ == 0:  # more texts than one batch takes: batches run back to back
            many = [order[j % len(order)] for j in range(2 * (ctx.client.burst or MANY_BATCH))]
            jobs.append((f"{len(many)} texts in one request", many, [TEXTS[i] for i in many],
                         None, None))
        got, count = await _round(ctx, jobs, expected)
        bad, compared = bad + got, compared + count
    found: list[Finding] = []
    if bad:
        ctx.wrong_answers_seen = True
        # In carry mode companions are always in flight: composition cannot be isolated.
        batch = [] if ctx.client.burst else await _batch_alone(ctx, order, expected)
        if batch:
            found = [finding(NAME, 4, "the answer depends on the other texts in the request "
                             f"(padding/batch composition): {len(batch)} of {len(order)} texts "
                             "sent in one request, with nothing else in flight, differ from "
                             "the same text sent alone, twice", batch, FIX_BATCH)]
        else:
            found = [finding(NAME, 4, f"{len(bad)} of {compared} answers sent concurrently "
                             "differ from the same text sent alone, or failed", bad, FIX_STATE)]
    if not ctx.truncate_option:
        ctx.notes.append(f"concurrency: {compared} answers compared; the API has no "
                         "truncation option, so mixed options were not sent")
        return found
    # Judged even after a chapter-4 finding: an answer cut the other way is no buffer's.
    return found + await _mixed_options(ctx, rng, compared, bool(found))


async def _batch_alone(ctx: Context, order: list[int],
                       expected: dict[int, npt.NDArray[np.float32]]) -> list[str]:
    """The combined request re-sent twice with nothing else in flight: the texts that differ
    both times and stay closer to their own answer than to any other text's (a padding bug
    does; a row swapped with another batch's, by a buffer overwritten, does not)."""
    wrong: dict[int, str] = {}
    for attempt in range(2):
        outcome = await ctx.client.embed([TEXTS[i] for i in order], timeout_s=ctx.bound(15.0))
        if not outcome.ok:
            return []
        now = {}
        for key, vector in zip(order, outcome.vectors, strict=True):  # type: ignore[arg-type]
            own = cosine(vector, expected[key])
            if own < ctx.min_cosine and own > max(cosine(vector, other) for k, other in
                                                  expected.items() if k != key):
                now[key] = (f"text {key} in one request with the others, alone in flight: "
                            f"cosine {own:.5f} to its answer alone")
        wrong = now if attempt == 0 else {k: v for k, v in now.items() if k in wrong}
        if not wrong:
            return []
    return list(wrong.values())


async def _mixed_options(ctx: Context, rng: random.Random, compared: int,
                         state_found: bool) -> list[Finding]:
    """Long texts cut right and left at once. Text R is only ever sent cut on the right and
    text L on the left, so an answer equal to its own text cut the *other* way can only come
    from another request's option: that is the finding. An answer equal to neither (a
    shared buffer's) or a failure is reported under chapter 4 unless it already was."""
    texts = {"right": " ".join(long_words(1500)), "left": " ".join(long_words(1500, seed=8))}
    want: dict[tuple[str, str], npt.NDArray[np.float32]] = {}
    for owner in ("right", "left"):  # long to tokenize: a wide window for the race
        for direction in ("right", "left"):
            await ctx.client.settle()
            alone = await ctx.answer_alone(texts[owner], True, direction)
            if not alone.ok:
                ctx.notes.append(f"concurrency: truncation_direction {direction} alone got "
                                 f"{alone.evidence()}; mixed options not sent")
                return []
            want[owner, direction] = alone.vectors[0]  # type: ignore[index]
    if any(same(want[o, "right"], want[o, "left"], ctx.min_cosine) for o in texts):
        ctx.notes.append("concurrency: truncation_direction left and right get the same answer "
                         "(the option is ignored); mixed options not sent")
        return []
    expected = dict(enumerate(ctx.alone))
    leaks: list[str] = []
    bad: list[str] = []
    mixed = sent = turns = 0
    loop = asyncio.get_running_loop()
    stop = loop.time() + min(MIXED_S, max(1.0, ctx.remaining() - 10.0))

    async def long_one(direction: str) -> None:
        nonlocal mixed
        other = "left" if direction == "right" else "right"
        outcome = await ctx.client.embed([texts[direction]], True, direction, ctx.bound(15.0))
        if (outcome.status is not None and 400 <= outcome.status < 500) or \
                outcome.status == 503:
            return  # "later", or refused: not judged here
        if not outcome.ok:
            bad.append(f"long text, truncate {direction}: {outcome.evidence()}")
            return
        mixed += 1
        vector = outcome.vectors[0]  # type: ignore[index]
        if same(vector, want[direction, direction], ctx.min_cosine):
            return
        if same(vector, want[direction, other], ctx.min_cosine):
            leaks.append(f"a long text sent with truncation_direction {direction} came back "
                         f"cut on the {other} (cosine {cosine(vector, want[direction, other]):.6f}"
                         f" to that answer alone, {cosine(vector, want[direction, direction]):.5f}"
                         " to its own)")
        else:
            bad.append(f"long text, truncate {direction}: cosine "
                       f"{cosine(vector, want[direction, direction]):.5f} to its answer alone")

    async def worker() -> None:
        """Requests back to back, long ones alternating directions, a short one in four (not
        in carry mode: a request without the option resets a shared tokenizer's truncation,
        and a text past the model's limit can fail its whole batch)."""
        nonlocal mixed, sent, turns
        while sent < MIXED_LONG and loop.time() < stop and not leaks and \
                not any(": no response" in line or "HTTP 5" in line for line in bad):
            turns += 1
            if turns % 4 == 0 and not ctx.client.burst:
                i = rng.randrange(3)
                found, count = await _round(
                    ctx, [(f"text {i} alone", [i], [TEXTS[i]], None, None)], expected)
                bad.extend(found)
                mixed += count
            else:
                sent += 1
                await long_one("right" if sent % 2 else "left")

    await asyncio.gather(*(worker() for _ in range(MIXED_WORKERS)))
    ctx.notes.append(f"concurrency: {compared} answers compared, then {mixed} with mixed "
                     f"truncation options ({sent} long requests)")
    if not leaks and not bad:
        return []
    ctx.wrong_answers_seen = True
    if leaks:
        return [finding(NAME, 6, f"{len(leaks)} of {mixed} answers came back with another "
                        "request's truncation option when requests with different options ran "
                        "together", leaks + bad, FIX_OPTIONS)]
    if state_found:
        ctx.notes.append(f"concurrency: {len(bad)} more wrong or failed answers with mixed "
                         f"options, none cut the other way: {bad[0]}")
        return []
    return [finding(NAME, 4, f"{len(bad)} of {mixed} answers with mixed truncation options "
                    "differ from the same request sent alone (not as the other option's "
                    "answer), or failed", bad, FIX_STATE)]
