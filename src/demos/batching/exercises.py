"""Checks for chapter 3's exercises: each returns a :class:`demos.exercises.Verdict`.

Every check runs the reader's code against the fixed batcher's machinery, with a gated
model that holds the first call until the test has queued what it needs, so each outcome
is decided by construction, never by timing. Messages are counts.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import threading
from collections.abc import Callable
from typing import Any

from demos import exercises
from demos.batching._cases import double
from demos.harness import bounded
from demos.models.encoder import make_tokenizer, token_batches

__all__ = ["check_1", "check_2", "check_3", "check_4"]

_BOUND_S = 5.0  # the checks need milliseconds; a reader's hang shows up as "not yet"


class _Gated:
    """A model that records its calls; the first one waits until ``gate`` is set."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []
        self.entered, self.gate = threading.Event(), threading.Event()

    def __call__(self, items: list[Any]) -> list[Any]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.entered.set()
            self.gate.wait(_BOUND_S)
        return double(list(items))


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def _settled(batcher: Any, tasks: list[asyncio.Task[Any]], sent: int = 0) -> int:
    """Requests queued or already answered: a request refused at once is not queued.
    ``sent`` counts those of ``tasks`` already handed to the (gated) model."""
    return int(batcher.statistics().queued) + sum(task.done() for task in tasks) + sent


def _run(coro_fn: Callable[[], Any], model: _Gated) -> Any:
    outcome = bounded(coro_fn, _BOUND_S, cancel=model.gate.set, name="exercise-check")
    if outcome.hung:
        raise TimeoutError(f"the check did not finish within {_BOUND_S:.0f} s")
    return outcome.unwrap()


async def _outcome(task: asyncio.Task[Any]) -> tuple[str, Any]:
    # ("raised", type) or ("returned", value): a returned exception object is an answer, not
    # a failure, so gather(return_exceptions=True) cannot tell them apart. (A comment, not a
    # docstring: this package's docstrings are chapter 3's workload, see perf.book_texts.)
    try:
        return "returned", await task
    except asyncio.CancelledError:
        if not task.cancelled():  # this check itself is being cancelled
            raise
        return "raised", asyncio.CancelledError
    except Exception as error:
        return "raised", type(error)


#: One deadline for every short-lived request: those queued before the check waits
#: :data:`_EXPIRE_S` have passed it, those queued after have not. The same value both ways,
#: so only a batcher that reads the clock can tell them apart.
_DEADLINE_S = 1.0
_EXPIRE_S = 1.5


def check_1(batcher_class: type) -> exercises.Verdict:
    """Exercise 3.1: ``submit(item, deadline_s)``; a request whose deadline has passed
    before its batch is sent fails with TimeoutError and never reaches the model.

    Request 0 (1 s deadline) is sent at once to a gated model that holds it past its deadline:
    it must be answered. While the model holds it, requests 1, 3 and 4 are queued with a 1 s
    deadline and 2 and 5 with 60 s; the check waits 1.5 s, queues 6 and 7 with the same 1 s
    deadline, and opens the gate: 1, 3 and 4 have expired, 6 and 7 have not. A rule on the
    deadline's value alone ("under 1 s fails") cannot tell them apart.
    """

    def attempt() -> exercises.Verdict:
        model = _Gated()
        expired, live = (1, 3, 4), (0, 2, 5, 6, 7)

        async def scenario() -> list[Any]:
            async with batcher_class(model, max_batch=8, max_wait_s=0.0) as batcher:
                # Request 0 is sent at once and held past its 1 s deadline: it must still be
                # answered (a deadline is for the queue, not the model's own time).
                tasks = [asyncio.create_task(batcher.submit(0, deadline_s=_DEADLINE_S),
                                             name="c-0")]
                # the model is busy with request 0 (or an answer refused it at once)
                await _until(lambda: model.entered.is_set() or tasks[0].done())
                zero = int(model.entered.is_set())  # request 0 is in the model's first call

                def settled() -> int:
                    sent = sum(len(call) for call in model.calls) - zero
                    return _settled(batcher, tasks[1:], sent)
                for item, deadline in ((1, _DEADLINE_S), (2, 60.0), (3, _DEADLINE_S),
                                       (4, _DEADLINE_S), (5, 60.0)):
                    tasks.append(asyncio.create_task(
                        batcher.submit(item, deadline_s=deadline), name=f"c-{item}"))
                await _until(lambda: settled() >= 5)
                await asyncio.sleep(_EXPIRE_S)  # 1, 3 and 4 expire while the model is busy
                # A request given up on client-side is done yet may still sit in the queue,
                # counted twice: wait for 6 and 7 to add two to whatever the count is now.
                before = settled()
                for item in (6, 7):
                    tasks.append(asyncio.create_task(
                        batcher.submit(item, deadline_s=_DEADLINE_S), name=f"c-{item}"))
                await _until(lambda: settled() >= before + 2)
                model.gate.set()
                return list(await asyncio.gather(*map(_outcome, tasks)))

        outcomes = _run(scenario, model)
        seen = {x for call in model.calls for x in call}
        expired_sent = sum(item in seen for item in expired)
        timeouts = sum(kind == "raised" and issubclass(what, TimeoutError)
                       for kind, what in (outcomes[i] for i in expired))
        returned = sum(kind == "returned" and isinstance(what, BaseException)
                       for kind, what in (outcomes[i] for i in expired))
        served = sum(outcomes[i] == ("returned", 2 * i) for i in live)
        message = (f"{timeouts} of 3 expired requests failed with TimeoutError, "
                   f"{expired_sent} of 3 reached the model, {served} of {len(live)} live "
                   f"requests answered (2 of them with the same {_DEADLINE_S:g} s deadline, "
                   "queued later)")
        if returned:
            message += (f"; {returned} expired request(s) got an exception object returned as "
                        "their answer: await submit() must raise TimeoutError, not return it")
        ok = timeouts == 3 and expired_sent == 0 and served == len(live)
        return exercises.Verdict("3.1", ok, message)

    return exercises.check("3.1", attempt)


#: An estimate's median ratio to the true token count must lie here: far off, it is no estimate.
_RATIO = (0.67, 1.5)


@functools.cache
def _long_tail() -> tuple[tuple[str, ...], tuple[int, ...]]:
    from demos.batching import perf
    from demos.models.source import read_member

    texts = perf.workload("long-tail", 256, seed=0)
    tokenizer = make_tokenizer(read_member("tokenizer.json").decode("utf-8"), 256)
    return tuple(texts), tuple(sum(e.attention_mask) for e in tokenizer.encode_batch(texts))


def check_2(size_fn: Callable[[str], int], *, max_waste: float = 1.4) -> exercises.Verdict:
    """Exercise 3.2: a token estimate without the tokenizer, good enough to cut batches by.

    Cuts the long-tail workload (256 texts) with ``size_fn``'s estimates
    (:func:`token_batches`, 32 rows, 2048 tokens) and measures the true padding: at most
    ``max_waste`` padded tokens per useful token, in at most half as many calls again as
    exact token counts need (counting characters as tokens makes far too many calls).
    """

    def attempt() -> exercises.Verdict:
        texts, lengths = _long_tail()
        estimates = [size_fn(t) for t in texts]
        bad = [e for e in estimates if isinstance(e, bool) or not isinstance(e, int) or e < 1]
        if bad:
            return exercises.failed("3.2", f"size_fn must return an int >= 1, got {bad[0]!r}")
        cuts = token_batches(estimates, max_batch=32, max_tokens=2048)
        exact = token_batches(list(lengths), max_batch=32, max_tokens=2048)
        waste = sum(len(c) * max(lengths[i] for i in c) for c in cuts) / sum(lengths)
        most = len(exact) * 3 // 2
        ok = waste <= max_waste and len(cuts) <= most
        message = (f"{waste:.2f} padded tokens per useful token in {len(cuts)} calls "
                   f"(exact counts: {len(exact)} calls; the goal: at most {max_waste} "
                   f"in at most {most})")
        ratio = statistics.median(e / n for e, n in zip(estimates, lengths, strict=True))
        if ok and not _RATIO[0] <= ratio <= _RATIO[1]:
            return exercises.failed("3.2", f"{message}, but size_fn is not a token estimate: "
                                    f"the median estimate is {ratio:.2f} times the true token "
                                    f"count (the goal: between {_RATIO[0]} and {_RATIO[1]})")
        return exercises.Verdict("3.2", ok, message)

    return exercises.check("3.2", attempt)


def check_3(batcher_class: type) -> exercises.Verdict:
    """Exercise 3.3: identical items in one batch reach the model once; every client still
    gets its answer."""

    def attempt() -> exercises.Verdict:
        model = _Gated()
        items = [5, 5, 7, 5, 7, 9]

        async def scenario() -> list[Any]:
            async with batcher_class(model, max_batch=8, max_wait_s=0.0) as batcher:
                tasks = [asyncio.create_task(batcher.submit(1), name="c-first")]
                await _until(model.entered.is_set)
                tasks += [asyncio.create_task(batcher.submit(x), name=f"c-{i}")
                          for i, x in enumerate(items)]
                await _until(lambda: batcher.statistics().queued == len(items))
                model.gate.set()
                return list(await asyncio.gather(*tasks, return_exceptions=True))

        answers = _run(scenario, model)[1:]
        sent = sum(len(call) for call in model.calls[1:])
        right = sum(a == 2 * x for a, x in zip(answers, items, strict=True))
        message = (f"the model got {sent} items for {len(items)} requests of 3 distinct "
                   f"items; {right} of {len(items)} answers right")
        return exercises.Verdict("3.3", sent == 3 and right == len(items), message)

    return exercises.check("3.3", attempt)


#: Exercise 3.4's further cuts: a budget below the longest texts (256 tokens), which must
#: then go alone, and a row bound other than the first cut's, so a cut that ignores its
#: arguments or drops a text over the budget shows; then texts all over the budget, so a cut
#: that opens an empty call when its first text is over the budget shows.
_TIGHT = {"max_batch": 8, "max_tokens": 200}
_ALL_OVER = (300, 250, 500)


def _broken_cut(calls: list[Any], lengths: list[int], max_batch: int, max_tokens: int) -> str:
    # What breaks the rules of Exercise 3.4 in `calls`, or "" (a comment, not a docstring:
    # this package's docstrings are chapter 3's workload, see perf.book_texts).
    used = sorted(i for c in calls for i in c)
    if used != list(range(len(lengths))):
        return (f"the calls must use each of the {len(lengths)} positions once, got "
                f"{len(used)} positions ({len(set(used))} distinct)")
    empty = sum(len(c) == 0 for c in calls)
    if empty:
        return f"{empty} of {len(calls)} calls are empty: a call holds at least one text"
    over = [c for c in calls if len(c) > max_batch
            or (len(c) > 1 and len(c) * max(lengths[i] for i in c) > max_tokens)]
    if over:
        rows, longest = len(over[0]), max(lengths[i] for i in over[0])
        return (f"{len(over)} of {len(calls)} calls break the budget (the first: {rows} rows x "
                f"{longest} tokens = {rows * longest}; the goal: at most {max_batch} rows and "
                f"{max_tokens} tokens)")
    return ""


def check_4(cut: Callable[..., Any], *, max_waste: float = 1.25) -> exercises.Verdict:
    # Exercise 3.4 (03b_batching_pays): cut the long-tail texts into calls by a token budget.
    # `cut(lengths, max_batch=32, max_tokens=2048)` must return lists of positions that use
    # every position once, keep each call within 32 rows and (unless it is one row) within
    # 2048 padded tokens, pad at most `max_waste` tokens per useful token, and make at most
    # half as many calls again as token_batches (one text per call pads nothing). Then the
    # same rules with _TIGHT's bounds, on the same texts (4 of 256 tokens, over the budget)
    # and on _ALL_OVER. A comment, not a docstring: this package's docstrings are chapter 3's
    # workload (perf.book_texts).

    def attempt() -> exercises.Verdict:
        lengths = list(_long_tail()[1])
        calls = [list(c) for c in cut(list(lengths), max_batch=32, max_tokens=2048)]
        broken = _broken_cut(calls, lengths, 32, 2048)
        if broken:
            return exercises.failed("3.4", broken)
        waste = sum(len(c) * max(lengths[i] for i in c) for c in calls) / sum(lengths)
        most = len(token_batches(lengths, max_batch=32, max_tokens=2048)) * 3 // 2
        verdict = exercises.Verdict("3.4", waste <= max_waste and len(calls) <= most,
                                    f"{waste:.2f} padded tokens per useful token in "
                                    f"{len(calls)} calls (the goal: at most {max_waste} in at "
                                    f"most {most})")
        if not verdict.passed:
            return verdict
        longer = sum(n > _TIGHT["max_tokens"] for n in lengths)
        for given, what in ((lengths, f"the long-tail texts ({longer} longer than the budget, "
                                      "each a call of its own)"),
                            (list(_ALL_OVER), f"lengths={list(_ALL_OVER)} (each a call of "
                                              "its own)")):
            tight = [list(c) for c in cut(list(given), **_TIGHT)]
            broken = _broken_cut(tight, given, _TIGHT["max_batch"], _TIGHT["max_tokens"])
            if broken:
                return exercises.failed("3.4", f"with max_batch={_TIGHT['max_batch']}, "
                                        f"max_tokens={_TIGHT['max_tokens']} and {what}: "
                                        f"{broken}")
        return verdict

    return exercises.check("3.4", attempt)
