"""Chapter 3: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import asyncio

from wrong_answers.common import wrong

# --- 3.1 · deadlines in a batcher ---------------------------------------------------------


def _p31(batcher_class):
    from demos.batching import exercises

    return exercises.check_1(batcher_class)


def _batcher():
    from demos.batching import fixed

    return fixed.MicroBatcher


@wrong("3.1", "fails every request whose deadline is under 1 s, never reads the clock",
       r"[0-4] of 5 live requests answered")
def _():
    class Threshold(_batcher()):
        async def submit(self, item, deadline_s):
            if deadline_s <= 1.0:
                raise TimeoutError("deadline too short")
            return await super().submit(item)

    return _p31(Threshold)


@wrong("3.1", "checks the deadline when the request is submitted", r"0 of 3 expired")
def _():
    class AtSubmit(_batcher()):
        async def submit(self, item, deadline_s):
            if deadline_s <= 0:
                raise TimeoutError("deadline passed")
            return await super().submit(item)

    return _p31(AtSubmit)


@wrong("3.1", "asyncio.wait_for on the client side: fails a request already sent in time",
       r"[0-4] of 5 live requests answered")
def _():
    class ClientSide(_batcher()):
        async def submit(self, item, deadline_s):
            return await asyncio.wait_for(super().submit(item), deadline_s)

    return _p31(ClientSide)


@wrong("3.1", "fails expired requests after the model call", r"[1-3] of 3 reached the model")
def _():
    class AfterCall(_batcher()):
        async def submit(self, item, deadline_s):
            deadline = asyncio.get_running_loop().time() + deadline_s
            answer = await super().submit(item)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("too late")
            return answer

    return _p31(AfterCall)


@wrong("3.1", "fails the whole batch when any request in it has expired",
       r"[0-4] of 5 live requests answered")
def _():
    class WholeBatch(_batcher()):
        async def submit(self, item, deadline_s):
            deadline = asyncio.get_running_loop().time() + deadline_s
            return await super().submit((deadline, item))

        async def _flush(self, batch):
            now = asyncio.get_running_loop().time()
            if any(r.item[0] < now for r in batch):
                for request in batch:
                    request.fail(TimeoutError("a deadline passed"))
            await super()._flush(batch)

        async def _call(self, items):
            return await super()._call([item for _, item in items])

    return _p31(WholeBatch)


@wrong("3.1", "drops expired items in _call and returns a TimeoutError object as their answer",
       r"exception object returned as their answer")
def _():
    class ReturnsTheError(_batcher()):
        async def submit(self, item, deadline_s):
            deadline = asyncio.get_running_loop().time() + deadline_s
            return await super().submit((deadline, item))

        async def _call(self, items):
            now = asyncio.get_running_loop().time()
            live = [item for deadline, item in items if deadline >= now]
            outputs = iter(await super()._call(live) if live else [])
            return [next(outputs) if deadline >= now else TimeoutError("deadline passed")
                    for deadline, _ in items]

    return _p31(ReturnsTheError)


# --- 3.2 · a token estimate -----------------------------------------------------------------


def _p32(size):
    from demos.batching import exercises

    return exercises.check_2(size)


@wrong("3.2", "characters counted as tokens", r"in 2\d calls .*in at most 18")
def _():
    return _p32(len)


@wrong("3.2", "words counted as tokens", r"padded tokens per useful token")
def _():
    return _p32(lambda text: max(1, len(text.split())))


@wrong("3.2", "a tenth of the characters: few calls, no token estimate",
       r"not a token estimate: the median estimate is 0\.\d\d times")
def _():
    return _p32(lambda text: len(text) // 10 + 2)


@wrong("3.2", "half the characters: twice the token count", r"not a token estimate")
def _():
    return _p32(lambda text: len(text) // 2)


@wrong("3.2", "a float estimate", r"must return an int >= 1, got")
def _():
    return _p32(lambda text: len(text) / 4 + 2)


@wrong("3.2", "a constant: every text the same size", r"padded tokens per useful token")
def _():
    return _p32(lambda text: 64)


# --- 3.3 · deduplication ----------------------------------------------------------------------


def _p33(batcher_class):
    from demos.batching import exercises

    return exercises.check_3(batcher_class)


@wrong("3.3", "sends each item once but answers in the unique items' order",
       r"[0-5] of 6 answers right")
def _():
    class Unmapped(_batcher()):
        async def _call(self, items):
            unique = list(dict.fromkeys(items))
            outputs = await super()._call(unique)
            return (outputs * len(items))[: len(items)]

    return _p33(Unmapped)


@wrong("3.3", "deduplicates the answers, not the model's input", r"model got 6 items")
def _():
    class AfterTheFact(_batcher()):
        async def _call(self, items):
            outputs = await super()._call(items)
            first = dict(zip(items, outputs, strict=True))
            return [first[item] for item in items]

    return _p33(AfterTheFact)


@wrong("3.3", "drops repeats and returns fewer answers than requests",
       r"raised|[0-5] of 6 answers right")
def _():
    class Dropped(_batcher()):
        async def _call(self, items):
            return await super()._call(list(dict.fromkeys(items)))

    return _p33(Dropped)


# --- 3.4 · a cut by a token budget (03b_batching_pays) ---------------------------------------


def _p34(cut):
    from demos.batching import exercises

    return exercises.check_4(cut)


@wrong("3.4", "arrival order, 32 a call (the first fix)", r"calls break the budget .*8192")
def _():
    def cut(lengths, max_batch, max_tokens):
        return [list(range(i, min(i + max_batch, len(lengths))))
                for i in range(0, len(lengths), max_batch)]

    return _p34(cut)


@wrong("3.4", "sorted, 32 a call, no token budget", r"1 of 8 calls break the budget")
def _():
    def cut(lengths, max_batch, max_tokens):
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        return [order[i:i + max_batch] for i in range(0, len(order), max_batch)]

    return _p34(cut)


@wrong("3.4", "one text a call: no padding, far too many calls", r"in 256 calls .*in at most 18")
def _():
    return _p34(lambda lengths, max_batch, max_tokens: [[i] for i in range(len(lengths))])


@wrong("3.4", "a token budget in arrival order, unsorted",
       r"3\.\d\d padded tokens per useful token")
def _():
    def cut(lengths, max_batch, max_tokens):
        calls, call, longest = [], [], 0
        for i, n in enumerate(lengths):
            padded = (len(call) + 1) * max(longest, n)
            if call and (len(call) + 1 > max_batch or padded > max_tokens):
                calls.append(call)
                call, longest = [], 0
            call.append(i)
            longest = max(longest, n)
        return [*calls, call]

    return _p34(cut)


@wrong("3.4", "the longest text dropped", r"use each of the 256 positions once, got 255")
def _():
    def cut(lengths, max_batch, max_tokens):
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])[:-1]
        return [order[i:i + 8] for i in range(0, len(order), 8)]

    return _p34(cut)


def _greedy(order, fits):
    # Sorted positions cut greedily where `fits(call, i)` says no: the shape of 3.4's solution.
    calls, call = [], []
    for i in order:
        if call and not fits(call, i):
            calls.append(call)
            call = []
        call.append(i)
    return [*calls, call] if call else calls


@wrong("3.4", "the budget tested without the row being added (off by one row)",
       r"calls break the budget .*9 rows x 256 tokens = 2304")
def _():
    def cut(lengths, max_batch, max_tokens):
        return _greedy(sorted(range(len(lengths)), key=lambda i: lengths[i]),
                       lambda call, i: len(call) < max_batch
                       and len(call) * lengths[i] <= max_tokens)

    return _p34(cut)


@wrong("3.4", "useful tokens summed, not rows x longest", r"calls break the budget .*27 rows x 136")
def _():
    def cut(lengths, max_batch, max_tokens):
        return _greedy(sorted(range(len(lengths)), key=lambda i: lengths[i]),
                       lambda call, i: len(call) < max_batch
                       and sum(lengths[j] for j in call) + lengths[i] <= max_tokens)

    return _p34(cut)


@wrong("3.4", "a text longer than the budget dropped", r"max_tokens=200 .*got 252 positions")
def _():
    def cut(lengths, max_batch, max_tokens):
        order = [i for i in sorted(range(len(lengths)), key=lambda i: lengths[i])
                 if lengths[i] <= max_tokens]
        return _greedy(order, lambda call, i: len(call) < max_batch
                       and (len(call) + 1) * lengths[i] <= max_tokens)

    return _p34(cut)


@wrong("3.4", "an empty call first when the first text is over the budget",
       r"lengths=\[300, 250, 500\] .*1 of 4 calls are empty")
def _():
    def cut(lengths, max_batch, max_tokens):
        calls, call = [], []
        for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
            if len(call) + 1 > max_batch or (len(call) + 1) * lengths[i] > max_tokens:
                calls.append(call)  # no `call and`: an empty call when the first text is over
                call = []
            call.append(i)
        return [*calls, call]

    return _p34(cut)


@wrong("3.4", "the bounds of the example hard-coded, the arguments ignored",
       r"max_batch=8, max_tokens=200 .*calls break the budget .*at most 8 rows and 200 tokens")
def _():
    def cut(lengths, max_batch, max_tokens):
        return _greedy(sorted(range(len(lengths)), key=lambda i: lengths[i]),
                       lambda call, i: len(call) < 32 and (len(call) + 1) * lengths[i] <= 2048)

    return _p34(cut)


@wrong("3.4", "max_tokens ignored, only max_batch read",
       r"max_tokens=200 .*calls break the budget .*8 rows x \d+ tokens")
def _():
    def cut(lengths, max_batch, max_tokens):
        return _greedy(sorted(range(len(lengths)), key=lambda i: lengths[i]),
                       lambda call, i: len(call) < max_batch
                       and (len(call) + 1) * lengths[i] <= 2048)

    return _p34(cut)
