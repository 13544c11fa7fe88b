"""Truncation: a text past the model's limit gets the answer of its truncated form (chapter 6).

The probe has no tokenizer for the service's model, so it makes the limit observable: its
long text is made of words that are one token each (:mod:`demos.probe.texts`), so the
text's first ``n`` words are its first ``n`` tokens. It sends the whole text (with
``truncate: true`` where the API has the option), then finds by bisection the shortest
prefix whose answer equals the whole text's: that prefix *is* the service's limit, in
words. Findings: an error for a text that asked to be truncated; no prefix at all that
gives the same answer (the service cuts characters, or somewhere that is not a token
boundary); a limit that differs from the one the service declares (``--max-tokens``, TEI's
``/info``, a ``max_input_length`` in ``/v1/models``), as with a tokenizer.json shipped with
128 for a model that takes 256; ``truncation_direction: left`` answered with the right cut.

Equality here is tight (cosine >= 1 - 1e-6): both requests hold the same tokens, alone.
"""

from __future__ import annotations

from demos.probe.checks import Context, Skip, finding
from demos.probe.client import Outcome
from demos.probe.report import Finding
from demos.probe.texts import long_words, same

__all__ = ["NAME", "SAME", "run"]

NAME = "truncation"
CHAPTER = 6
SAME = 1 - 1e-6
#: Special tokens a model may add around a text ([CLS] and [SEP] for BERT).
MAX_SPECIAL = 4
FIX = ("truncate in tokens, at the model's max_seq_length (check what the shipped "
       "tokenizer.json says against the model card), per request on the request's own "
       "encodings, never by characters or by reconfiguring a shared tokenizer; honour "
       "truncation_direction or refuse it with a 4xx")


async def run(ctx: Context) -> list[Finding]:
    if not ctx.comparable:
        raise Skip("the service's vectors are not comparable (see the precision finding)")
    if ctx.client.burst:
        raise Skip("carry mode: each request would be padded, with its companions, into a "
                   "full batch at the model's limit; the bisection's ~15 such batches were "
                   "not sent")
    words = long_words()
    option = True if ctx.truncate_option else None
    whole = await _embed(ctx, words, option)
    if not whole.ok:
        if option is None and whole.status is not None and 400 <= whole.status < 500 \
                and whole.message:
            ctx.notes.append("truncation: the service refuses a text past its limit with a "
                             f"clear {whole.status} and has no truncation option; not checked")
            return []
        return [finding(NAME, CHAPTER, f"a text of {len(words)} words" + (
            " sent with truncate: true" if option else "") + " got no answer",
            [whole.evidence()], FIX)]
    assert whole.vectors is not None
    target = whole.vectors[0]
    below = await _embed(ctx, words[:-1], option)
    if not (below.ok and same(below.vectors[0], target, SAME)):  # type: ignore[index]
        return await _beyond(ctx, words, option, target)
    lo, hi = 1, len(words) - 1  # hi's answer equals the whole text's
    while lo < hi and ctx.remaining() > 3.0:
        mid = (lo + hi) // 2
        outcome = await _embed(ctx, words[:mid], option)
        if not outcome.ok:
            return [finding(NAME, CHAPTER, f"a text of {mid} words got no answer",
                            [outcome.evidence()], FIX)]
        if same(outcome.vectors[0], target, SAME):  # type: ignore[index]
            hi = mid
        else:
            lo = mid + 1
    limit = hi
    ctx.notes.append(f"truncation: the service cuts this text after {limit} words (tokens)")
    found = []
    if ctx.max_tokens is not None and not ctx.max_tokens - MAX_SPECIAL <= limit <= \
            ctx.max_tokens:
        found.append(finding(NAME, CHAPTER, f"the service cuts texts after {limit} tokens, "
                             f"but declares a limit of {ctx.max_tokens}",
                             [f"the first {limit} words answer like all {len(words)} words; "
                              f"the first {limit - 1} do not"], FIX))
    if ctx.truncate_option:
        found += await _left(ctx, words, limit)
    return found


async def _embed(ctx: Context, words: list[str], truncate: bool | None,
                 direction: str | None = None) -> Outcome:
    return await ctx.client.embed([" ".join(words)], truncate=truncate, direction=direction,
                                  timeout_s=ctx.bound(15.0))


async def _beyond(ctx: Context, words: list[str], option: bool | None,
                  target: object) -> list[Finding]:
    """The last word changed the answer: the limit is past the text, or no prefix matches."""
    twice = await _embed(ctx, words + words, option)
    if twice.ok and same(twice.vectors[0], target, SAME):  # type: ignore[arg-type,index]
        return [finding(NAME, CHAPTER, f"the service cuts a text of {2 * len(words)} words "
                        f"to something no word prefix matches (not even all {len(words)} "
                        "but the last): it cuts characters or mid-token",
                        [f"{len(words)} words and {2 * len(words)} words get the same answer; "
                         f"{len(words) - 1} words get another"], FIX)]
    again = await _embed(ctx, words, option)
    if not (again.ok and same(again.vectors[0], target, SAME)):  # type: ignore[index]
        ctx.notes.append("truncation: vectors are not reproducible at 1e-6 (the same text got "
                         "another answer); truncation not checked")
        return []
    ctx.notes.append(f"truncation: a text of {len(words)} one-token words is within the "
                     "service's limit; not checked")
    return []


async def _left(ctx: Context, words: list[str], limit: int) -> list[Finding]:
    outcome = await _embed(ctx, words, True, "left")
    if outcome.status is not None and 400 <= outcome.status < 500:
        ctx.notes.append("truncation: truncation_direction left is refused with a "
                         f"{outcome.status}")
        return []
    tail = await _embed(ctx, words[-limit:], True)
    if outcome.ok and tail.ok and same(outcome.vectors[0], tail.vectors[0], SAME):  # type: ignore[index]
        return []
    right = await _embed(ctx, words[:limit], True)
    if outcome.ok and right.ok and same(outcome.vectors[0], right.vectors[0], SAME):  # type: ignore[index]
        ctx.notes.append("truncation: truncation_direction left gets the right cut (the option "
                         "is ignored, as by a service without it); not checked")
        return []
    return [finding(NAME, CHAPTER, "truncation_direction left does not answer like the text's "
                    f"last {limit} words", [outcome.evidence(), tail.evidence()], FIX)]
