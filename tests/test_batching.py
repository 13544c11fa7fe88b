"""Chapter 3: micro-batchers that deadlock, every hang caught; the fixed batcher holds."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from demos import catalogue
from demos.batching import broken, exercises, exit_hang, first_fix, fixed, perf, scenario
from demos.batching._cases import double
from demos.harness import bounded
from demos.models.encoder import token_batches

TIMEOUT_S = 0.5
# For work that must finish: each call below needs milliseconds, so this is far above its
# need on a loaded machine, yet short enough that a regression (say, broken.py swapped in
# for fixed.py) fails the suite in about a minute instead of half an hour of 30 s bounds.
BOUND = 3.0

# (clients, requests, max_batch): the last batch is partial, so a batcher with no deadline hangs
LOADS = [
    pytest.param(3, 4, 8, id="3-clients-below-one-batch"),
    pytest.param(20, 3, 8, id="20-clients-60-requests-partial-last-batch"),
]


# --- the broken batcher hangs, in every case, and every hang is caught --------------------

@pytest.mark.parametrize(("clients", "requests", "max_batch"), LOADS)
def test_broken_batcher_hangs_in_every_case_and_each_hang_is_caught(clients, requests, max_batch):
    report = scenario.run(broken, clients=clients, requests=requests, max_batch=max_batch,
                          timeout_s=TIMEOUT_S)
    assert report.manifested
    assert report.metrics["hung"] == len(scenario.CASES)
    assert all(report.metrics[f"{name}_hung"] for name in scenario.CASES)
    assert report.metrics["lost"] > 0
    assert report.metrics["cleaned_up"] is True


@pytest.mark.parametrize("name", list(scenario.CASES))
def test_each_broken_hang_is_caught_within_the_bound_plus_half_a_second(name):
    result = scenario.run_case(broken, name, timeout_s=TIMEOUT_S)
    assert result.outcome.hung
    assert result.outcome.cleaned_up
    assert result.outcome.elapsed_s < TIMEOUT_S + 0.5  # the harness's own clock: the bound
    assert result.tally.lost >= 1


def test_the_poisoned_batcher_dies_of_invalid_state_and_later_requests_hang():
    async def poisoned() -> None:
        async with broken.MicroBatcher(double, max_batch=2) as batcher:
            victim = asyncio.create_task(batcher.submit(1), name="victim")
            await asyncio.sleep(0)
            victim.cancel()
            await asyncio.gather(victim, return_exceptions=True)
            late = [asyncio.create_task(batcher.submit(i), name=f"late-{i}") for i in (2, 3)]
            await asyncio.wait(late, timeout=TIMEOUT_S)
            assert not any(t.done() for t in late)  # never answered
            assert not batcher.statistics().running

    outcome = bounded(poisoned, BOUND)
    assert isinstance(outcome.error, asyncio.InvalidStateError)  # surfaces only on exit


# --- the fixed batcher holds -------------------------------------------------------------

@pytest.mark.parametrize(("clients", "requests", "max_batch"), LOADS)
@pytest.mark.parametrize("max_wait_s", [0.0, 0.005])
def test_fixed_batcher_answers_every_request_in_every_case(clients, requests, max_batch,
                                                            max_wait_s):
    report = scenario.run(fixed, clients=clients, requests=requests, max_batch=max_batch,
                          max_wait_s=max_wait_s, timeout_s=BOUND)
    assert not report.manifested, str(report)
    assert report.metrics["hung"] == 0
    assert report.metrics["lost"] == 0
    assert report.metrics["wrong"] == 0
    assert report.metrics["errors"] == max_batch + 1  # one failed batch, one refusal


def test_fixed_batcher_holds_with_a_real_tiny_model():
    from demos.models import tiny_encoder

    encoder = tiny_encoder()
    texts_model = lambda items: encoder.encode([f"item {x}" for x in items],  # noqa: E731
                                               batch_size=max(1, len(items)))
    report = scenario.run(fixed, clients=5, requests=3, timeout_s=BOUND, model_fn=texts_model,
                          cases=("partial_batch", "warmup", "nested_pool", "starved_loop"))
    assert not report.manifested, str(report)
    assert report.metrics["requests"] == 15 + 8 + 15 + 1


def test_fixed_batcher_gives_exactly_one_answer_to_5000_requests_with_cancels_and_failures():
    rng = np.random.default_rng(3)
    n = 5000
    items = [int(x) + 1 for x in rng.choice(10**6, n, replace=False)]  # distinct
    for i in rng.choice(n, 25, replace=False):
        items[i] = -items[i]  # about 25 failing batches
    cancels = set(rng.choice(n, n // 10, replace=False).tolist())  # 10 % of clients give up
    # Written only by the batcher's one model thread; read after the batcher has exited.
    seen: dict[int, int] = {}
    batches: list[list[int]] = []

    def model(batch: list[int]) -> list[int]:
        batches.append(list(batch))
        for x in batch:
            seen[x] = seen.get(x, 0) + 1
        return double(batch)

    async def load() -> tuple[dict[int, object], bool]:
        answers: dict[int, object] = {}
        async with fixed.MicroBatcher(model, max_batch=32, max_wait_s=0.002,
                                      max_queue=256) as batcher:
            async def client(i: int) -> None:
                try:
                    answers[i] = await batcher.submit(items[i])
                except ValueError as error:
                    answers[i] = error

            tasks = []
            for i in range(n):
                tasks.append(asyncio.create_task(client(i), name=f"client-{i}"))
                if i in cancels:
                    await asyncio.sleep(0)
                    tasks[-1].cancel()
                if i % 200 == 0:
                    await asyncio.sleep(0.001)
            await asyncio.gather(*tasks, return_exceptions=True)
            alive = batcher.statistics().running
            assert await batcher.submit(21) == 42  # the batcher survived
        return answers, alive

    answers, alive = bounded(load, 5 * BOUND).unwrap()  # 5000 requests: a few hundred ms
    assert alive
    assert all(count == 1 for count in seen.values())  # no item ran twice
    failed_items = {x for b in batches if any(v < 0 for v in b) for x in b}
    for i in set(range(n)) - cancels:
        answer = answers[i]
        if isinstance(answer, ValueError):
            assert items[i] in failed_items
        else:
            assert answer == 2 * items[i]
    assert len(failed_items) > 0


def test_fixed_batcher_drains_queued_requests_on_a_clean_exit():
    async def drain() -> list[int]:
        async with fixed.MicroBatcher(double, max_batch=4, max_wait_s=10.0) as batcher:
            tasks = [asyncio.create_task(batcher.submit(i), name=f"client-{i}") for i in range(6)]
            await asyncio.sleep(0)
        return [await t for t in tasks]

    assert bounded(drain, BOUND).unwrap() == [0, 2, 4, 6, 8, 10]


def test_fixed_batcher_fails_pending_requests_clearly_when_it_exits_on_an_error():
    async def abort() -> list[BaseException | None]:
        with pytest.raises(KeyError):
            async with fixed.MicroBatcher(double, max_batch=4, max_wait_s=10.0) as batcher:
                tasks = [asyncio.create_task(batcher.submit(i), name=f"c-{i}") for i in range(3)]
                await asyncio.sleep(0)
                raise KeyError("the handler failed")
        with pytest.raises(fixed.BatcherClosedError,
                           match=r"^submit\(\) called after the batcher was closed$"):
            await batcher.submit(1)
        await asyncio.wait(tasks, timeout=BOUND)
        return [t.exception() for t in tasks]

    errors = bounded(abort, BOUND).unwrap()
    assert all(isinstance(e, fixed.BatcherClosedError) for e in errors)
    assert str(errors[0]) == "the batcher stopped before serving this request"


def test_fixed_batcher_fails_the_batch_in_the_model_when_it_exits_on_an_error():
    entered, gate = threading.Event(), threading.Event()

    def gated(items: list[int]) -> list[int]:
        entered.set()
        gate.wait(BOUND)
        return double(items)

    async def abort() -> list[BaseException | None]:
        with pytest.raises(KeyError):
            async with fixed.MicroBatcher(gated, max_batch=2, max_wait_s=0) as batcher:
                tasks = [asyncio.create_task(batcher.submit(i), name=f"c-{i}") for i in range(2)]
                while not entered.is_set():
                    await asyncio.sleep(0.001)
                raise KeyError("the handler failed")
        gate.set()  # let the model's thread finish its call and exit
        await asyncio.wait(tasks, timeout=BOUND)
        return [t.exception() for t in tasks]

    errors = bounded(abort, BOUND, cancel=gate.set).unwrap()
    assert all(isinstance(e, fixed.BatcherClosedError) for e in errors)


def test_fixed_batcher_applies_backpressure_when_its_queue_is_full():
    gate = threading.Event()

    def gated(items: list[int]) -> list[int]:
        gate.wait(BOUND)
        return double(items)

    async def press() -> tuple[int, int, list[int]]:
        async with fixed.MicroBatcher(gated, max_batch=1, max_wait_s=0, max_queue=2) as batcher:
            tasks = [asyncio.create_task(batcher.submit(i), name=f"c-{i}") for i in range(6)]
            for _ in range(20):
                await asyncio.sleep(0.01)
            queued, requests = batcher.statistics().queued, batcher.statistics().requests
            gate.set()
            return queued, requests, list(await asyncio.gather(*tasks))

    queued, requests, values = bounded(press, BOUND, cancel=gate.set).unwrap()
    assert queued == 2  # one in the model, one held for the next call, two queued, two waiting
    assert requests == 4
    assert values == [0, 2, 4, 6, 8, 10]


def test_fixed_submit_threadsafe_refuses_the_loops_own_thread_and_works_from_another():
    async def bridge() -> int:
        async with fixed.MicroBatcher(double, max_batch=1) as batcher:
            with pytest.raises(RuntimeError, match=r"^submit_threadsafe\(\) called on the "
                               r"batcher's event-loop thread, which it would block forever; "
                               r"use `await submit\(item\)` there$"):
                batcher.submit_threadsafe(1, timeout_s=BOUND)
            return await asyncio.to_thread(batcher.submit_threadsafe, 5, timeout_s=BOUND)

    assert bounded(bridge, BOUND).unwrap() == 10


@pytest.mark.parametrize("documents", [1, 4])
def test_fixed_encode_documents_finishes_on_a_one_worker_pool(documents):
    docs = [[10 * d + i for i in range(3)] for d in range(documents)]
    pool = ThreadPoolExecutor(1, thread_name_prefix="test-pool")
    try:
        out = fixed.encode_documents(pool, double, docs, timeout_s=BOUND)
    finally:  # on a regression a worker waits on a queued chunk: cancel it, or exit hangs
        pool.shutdown(wait=True, cancel_futures=True)
    assert out == [[2 * x for x in doc] for doc in docs]


def test_fixed_encode_documents_cancels_the_unstarted_chunks_on_timeout():
    # One worker, held by a blocker until the deadline has passed: all 6 chunks are still
    # queued when the TimeoutError is raised, and none of them may run after it.
    ran: list[int] = []
    started, release = threading.Event(), threading.Event()

    def blocker() -> None:
        started.set()
        release.wait(BOUND)

    def model(chunks: list[int]) -> list[int]:
        ran.extend(chunks)
        return double(chunks)

    pool = ThreadPoolExecutor(1, thread_name_prefix="test-pool")
    try:
        pool.submit(blocker)
        assert started.wait(BOUND)
        with pytest.raises(TimeoutError):
            fixed.encode_documents(pool, model, [[1, 2, 3, 4], [5, 6]], timeout_s=0.05)
        release.set()
        pool.submit(lambda: None).result(BOUND)  # FIFO, one worker: every chunk ran or was skipped
    finally:
        release.set()
        pool.shutdown(wait=True, cancel_futures=True)
    assert ran == [], f"{len(ran)} of 6 chunks ran after the TimeoutError: {ran}"


def test_broken_encode_documents_hangs_interpreter_exit_unless_the_inner_future_is_cancelled():
    assert exit_hang.interpreter_exit(cancel=False) == ("stuck at exit", "the caller timed out")
    assert exit_hang.interpreter_exit(cancel=True) == ("exited", "the caller timed out")


def test_broken_batcher_starves_the_event_loop_for_the_whole_model_call():
    def slow(items: list[int]) -> list[int]:
        time.sleep(0.05)  # a realistic model call: 50 ms, GIL released or not
        return double(items)

    late = perf.heartbeat(broken, slow, list(range(4)), max_batch=4, rounds=2, timeout_s=BOUND)
    assert max(late) >= 45  # a 1 ms timer waited for the whole call


# --- the fixed batcher pays: no idle wait, batches cut by a token budget --------------------

def _recording(gate: threading.Event | None = None, entered: threading.Event | None = None):
    """A model that records each batch it gets; the first call sets ``entered`` and waits
    for ``gate``, so that what the test submits next queues while the model is busy."""
    batches: list[list[int]] = []

    def model(items: list[int]) -> list[int]:
        first = not batches
        batches.append(list(items))
        if first and gate is not None:
            if entered is not None:
                entered.set()
            gate.wait(BOUND)
        return double(items)

    return model, batches


async def _until(condition) -> None:
    """Yield to the loop until ``condition()`` holds (the caller's ``bounded`` limits it)."""
    while not condition():
        await asyncio.sleep(0.001)


@pytest.mark.parametrize("max_batch", [4, 32])
def test_fixed_batcher_sends_a_lone_request_at_once_however_long_max_wait_s_is(max_batch):
    model, batches = _recording()

    async def lone() -> list[int]:
        async with fixed.MicroBatcher(model, max_batch=max_batch, max_wait_s=60.0) as batcher:
            return [await batcher.submit(i) for i in range(3)]  # one client, one at a time

    assert bounded(lone, BOUND).unwrap() == [0, 2, 4]  # a 60 s idle wait would hang here
    assert batches == [[0], [1], [2]]


def test_the_first_fix_waits_for_company_while_the_model_is_idle():
    async def lone() -> bool:
        async with first_fix.MicroBatcher(double, max_batch=4, max_wait_s=60.0) as batcher:
            request = asyncio.create_task(batcher.submit(1), name="lone")
            done, _ = await asyncio.wait([request], timeout=0.2)
            request.cancel()
            return bool(done)

    assert bounded(lone, BOUND).unwrap() is False


@pytest.mark.parametrize("impl", [first_fix, fixed], ids=["first_fix", "fixed"])
def test_the_first_fix_and_the_fixed_batcher_call_the_model_with_the_warmup_first(impl):
    calls: list[list[int]] = []

    def model(items: list[int]) -> list[int]:
        calls.append(list(items))
        return double(items)

    async def serve() -> int:
        async with impl.MicroBatcher(model, max_batch=4, max_wait_s=0.0, warmup=7) as batcher:
            return await batcher.submit(5)

    assert bounded(serve, BOUND).unwrap() == 10
    assert calls == [[7], [5]]  # the warm-up ran once, alone, before the first request


def test_fixed_batcher_batches_what_queued_while_the_model_was_busy():
    gate, entered = threading.Event(), threading.Event()
    model, batches = _recording(gate, entered)

    async def busy() -> list[int]:
        async with fixed.MicroBatcher(model, max_batch=8, max_wait_s=60.0) as batcher:
            tasks = [asyncio.create_task(batcher.submit(0), name="c-0")]
            await _until(entered.is_set)  # the model is busy with request 0
            tasks += [asyncio.create_task(batcher.submit(i), name=f"c-{i}") for i in range(1, 6)]
            await _until(lambda: batcher.statistics().queued == 5)
            gate.set()
            return list(await asyncio.gather(*tasks))

    assert bounded(busy, BOUND, cancel=gate.set).unwrap() == [0, 2, 4, 6, 8, 10]
    assert batches == [[0], [1, 2, 3, 4, 5]]


@pytest.mark.parametrize(("max_wait_s", "expected"), [
    (60.0, [[0], [1, 4, 2, 5], [3]]),  # nobody overdue: the shortest first
    (0.0, [[0], [3], [1, 4, 2, 5]]),  # all overdue: the cut holding the oldest (3) first
], ids=["shortest-first", "oldest-first-when-overdue"])
def test_fixed_batcher_sorts_what_it_holds_so_a_long_item_does_not_pad_short_ones(
        max_wait_s, expected):
    gate, entered = threading.Event(), threading.Event()
    model, batches = _recording(gate, entered)
    sizes = {0: 5, 1: 5, 2: 6, 3: 200, 4: 5, 5: 7}

    async def mixed() -> list[int]:
        async with fixed.MicroBatcher(model, max_batch=8, max_wait_s=max_wait_s,
                                      max_batch_tokens=64, size_fn=sizes.__getitem__) as batcher:
            tasks = [asyncio.create_task(batcher.submit(0), name="c-0")]
            await _until(entered.is_set)
            tasks += [asyncio.create_task(batcher.submit(i), name=f"c-{i}")
                      for i in (3, 1, 2, 4, 5)]
            await _until(lambda: batcher.statistics().queued == 5)
            gate.set()
            return list(await asyncio.gather(*tasks))

    assert bounded(mixed, BOUND, cancel=gate.set).unwrap() == [0, 6, 2, 4, 8, 10]
    assert batches == expected
    for batch in batches:  # every call within the budget, or a single long item
        assert len(batch) == 1 or len(batch) * max(sizes[i] for i in batch) <= 64


def test_a_request_held_for_a_later_cut_fails_clearly_when_the_batcher_exits_on_an_error():
    first_gate, second_gate = threading.Event(), threading.Event()
    entered = [threading.Event(), threading.Event()]
    calls: list[list[int]] = []

    def model(items: list[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) <= 2:  # the first two calls wait for the test
            entered[len(calls) - 1].set()
            (first_gate if len(calls) == 1 else second_gate).wait(BOUND)
        return double(items)

    def release() -> None:
        first_gate.set()
        second_gate.set()

    sizes = {0: 1, 1: 1, 2: 1, 3: 100}

    async def abort() -> tuple[list[BaseException | None], list[int]]:
        with pytest.raises(KeyError):
            async with fixed.MicroBatcher(model, max_batch=4, max_wait_s=60.0,
                                          size_fn=sizes.__getitem__) as batcher:
                tasks = [asyncio.create_task(batcher.submit(0), name="c-0")]
                await _until(entered[0].is_set)
                tasks += [asyncio.create_task(batcher.submit(i), name=f"c-{i}") for i in (1, 2, 3)]
                await _until(lambda: batcher.statistics().queued == 3)
                first_gate.set()  # the loop then holds 1, 2, 3 and sends the cut [1, 2]
                await _until(entered[1].is_set)
                held = [r.item for r in batcher._held]  # 3 would pad 1 and 2: a later cut
                raise KeyError("the handler failed")
        second_gate.set()
        await asyncio.wait(tasks, timeout=BOUND)
        return [t.exception() for t in tasks], held

    errors, held = bounded(abort, BOUND, cancel=release).unwrap()
    assert held == [3]
    assert calls[:2] == [[0], [1, 2]]
    assert errors[0] is None
    assert all(isinstance(e, fixed.BatcherClosedError) for e in errors[1:])  # none lost


def test_a_failing_size_fn_fails_its_own_request_only():
    def size(item: int) -> int:
        if item == 7:
            raise KeyError("no length for 7")
        return 0 if item == 8 else 1

    async def serve() -> list[object]:
        async with fixed.MicroBatcher(double, max_batch=4, size_fn=size) as batcher:
            return await asyncio.gather(*(batcher.submit(i) for i in (1, 7, 8, 2)),
                                        return_exceptions=True)

    one, seven, eight, two = bounded(serve, BOUND).unwrap()
    assert (one, two) == (2, 4)
    assert isinstance(seven, KeyError)
    assert isinstance(eight, ValueError)
    assert str(eight) == "size_fn must return an int >= 1, got 0"


@pytest.mark.parametrize(("lengths", "max_batch", "max_tokens", "expected"), [
    ([14] * 31 + [256], 32, 8192, [list(range(31)), [31]]),  # the long one pads nobody
    ([3, 1, 2], 2, 100, [[1, 2], [0]]),  # sorted, then cut by count
    ([10, 10, 10, 10], 8, 25, [[0, 1], [2, 3]]),  # cut by padded tokens: 2 × 10 <= 25
    ([300, 5], 4, 64, [[1], [0]]),  # longer than the budget: alone
], ids=["long-tail", "count", "tokens", "over-budget"])
def test_token_batches_sorts_and_cuts_by_count_tokens_and_padding(lengths, max_batch,
                                                                 max_tokens, expected):
    cuts = token_batches(lengths, max_batch=max_batch, max_tokens=max_tokens)
    assert cuts == expected
    assert sorted(i for c in cuts for i in c) == list(range(len(lengths)))


# --- bad arguments get clear errors -------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_batch": 0}, r"^max_batch must be an int >= 1, got 0$"),
    ({"max_batch": 2.5}, r"^max_batch must be an int >= 1, got 2\.5$"),
    ({"max_wait_s": -0.1}, r"^max_wait_s must be a finite number >= 0, got -0\.1$"),
    ({"max_wait_s": float("nan")}, r"^max_wait_s must be a finite number >= 0, got nan$"),
    ({"max_queue": 0}, r"^max_queue must be an int >= 1, got 0$"),
    ({"max_batch_tokens": 0}, r"^max_batch_tokens must be an int >= 1 or None, got 0$"),
    ({"max_batch_tokens": True}, r"^max_batch_tokens must be an int >= 1 or None, got True$"),
    ({"max_batch_tokens": 64.0}, r"^max_batch_tokens must be an int >= 1 or None, got 64\.0$"),
], ids=["max-batch-zero", "max-batch-float", "negative-wait", "nan-wait", "queue-zero",
        "tokens-zero", "tokens-bool", "tokens-float"])
def test_fixed_batcher_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fixed.MicroBatcher(double, **kwargs)


def test_fixed_batcher_rejects_a_model_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^model_fn must be callable, got str$"):
        fixed.MicroBatcher("encode")


def test_fixed_batcher_rejects_a_size_fn_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^size_fn must be callable or None, got int$"):
        fixed.MicroBatcher(double, size_fn=3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_batch": 0}, r"^max_batch must be an int >= 1, got 0$"),
    ({"max_tokens": -1}, r"^max_tokens must be an int >= 1, got -1$"),
    ({"lengths": [3, 0]}, r"^lengths\[1\] must be an int >= 1, got 0$"),
])
def test_token_batches_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        token_batches(**{"lengths": [1], "max_batch": 4, "max_tokens": 8, **kwargs})


def test_fixed_encode_documents_rejects_a_non_positive_timeout():
    with ThreadPoolExecutor(1) as pool, pytest.raises(
            ValueError, match=r"^timeout_s must be > 0 or None, got 0$"):
        fixed.encode_documents(pool, double, [[1]], timeout_s=0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"clients": 0}, r"^clients must be an int >= 1, got 0$"),
    ({"timeout_s": 0}, r"^timeout_s must be a finite number > 0 \(seconds\), got 0$"),
    ({"max_wait_s": -1}, r"^max_wait_s must be a finite number >= 0 \(seconds\), got -1$"),
    ({"cases": ("nope",)}, r"^cases must be a non-empty selection of \[.*\], got \('nope',\)$"),
])
def test_scenario_rejects_bad_knobs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        scenario.run(fixed, **kwargs)


# --- the chapter is wired into the book ------------------------------------------------------

def test_broken_and_fixed_export_the_same_names():
    assert broken.__all__ == fixed.__all__


def test_the_catalogue_finds_the_chapter():
    chapter = catalogue.find("batching")
    assert (chapter.chapter, chapter.title) == (3, "Micro-batching that deadlocks")


def test_bench_reports_every_way_workload_and_ratio_with_a_tiny_model():
    from demos.models import tiny_encoder

    result = scenario.bench(clients=(1, 4), requests=16, max_batch=8, repeats=2,
                            timeout_s=BOUND, encoder=tiny_encoder())
    assert set(result["levels"]) == set(perf.WORKLOADS)
    assert result["model_batch_speedup"] > 0
    for levels in result["levels"].values():
        assert set(levels) == {"1", "4"}
        for level in levels.values():
            assert set(level) == set(perf.WAYS) | {"ratios"}
            assert all(level[way]["throughput_rps"] > 0 for way in perf.WAYS)
            assert all(level[way]["padded_per_useful"] >= 1 for way in perf.WAYS)
            assert level["ratios"]["batcher_vs_offline_throughput"] > 0
            assert level["ratios"]["first_fix_vs_unbatched_throughput"] > 0
    json.dumps(result)


def test_the_long_tail_workload_is_shuffled_book_prose_with_some_at_the_limit():
    from demos.models import tiny_encoder

    texts = perf.workload("long-tail", 128, seed=1)
    assert texts == perf.workload("long-tail", 128, seed=1)  # the same for the same seed
    lengths = tiny_encoder().token_lengths(texts)
    assert sum(n == 256 for n in lengths) >= 2  # 1 in 64 at the limit
    assert np.median(lengths) < 64
    with pytest.raises(ValueError, match=r"^kind must be one of 'short', 'long-tail', got 'x'$"):
        perf.workload("x", 4)


# --- exercises: every stub fails its check, every solution passes ----------------------------

class StubDeadlineBatcher(fixed.MicroBatcher):
    async def submit(self, item, deadline_s):
        return await super().submit(item)


class SolvedDeadlineBatcher(fixed.MicroBatcher):
    async def submit(self, item, deadline_s):
        deadline = asyncio.get_running_loop().time() + deadline_s
        return await super().submit((deadline, item))

    async def _flush(self, batch):
        now = asyncio.get_running_loop().time()
        for request in batch:
            if request.item[0] < now:
                request.fail(TimeoutError("the deadline passed before the model call"))
        await super()._flush(batch)  # skips requests already answered

    async def _call(self, items):
        return await super()._call([item for _, item in items])


class SolvedDedupBatcher(fixed.MicroBatcher):
    async def _call(self, items):
        unique = list(dict.fromkeys(items))
        outputs = dict(zip(unique, await super()._call(unique), strict=True))
        return [outputs[item] for item in items]


@pytest.mark.parametrize(("number", "stub", "solution"), [
    (1, StubDeadlineBatcher, SolvedDeadlineBatcher),
    (2, lambda text: 1, lambda text: len(text) // 4 + 2),
    (3, fixed.MicroBatcher, SolvedDedupBatcher),
], ids=["deadlines", "size-estimate", "dedup"])
def test_each_exercise_stub_fails_its_check_and_the_solution_passes(number, stub, solution):
    check = getattr(exercises, f"check_{number}")
    assert not check(stub).passed
    assert check(solution).passed, str(check(solution))


# --- version probes: observed, and right on any Python the matrix runs -------------------------

def test_version_probes_answer_every_question_with_what_this_python_does():
    import concurrent.futures

    from demos.batching import versions

    seen = versions.observe()
    assert set(seen) == set(versions.PROBES)
    same = asyncio.TimeoutError is TimeoutError
    assert seen["asyncio_timeout_error"] == ("the built-in TimeoutError" if same
                                             else "a separate class")
    futures_same = concurrent.futures.TimeoutError is TimeoutError
    assert seen["futures_timeout_error"] == ("the built-in TimeoutError" if futures_same
                                             else "a separate class")
    assert (seen["except_timeout_error_on_wait_for"] == "catches it") is same


def test_the_gap_to_offline_splits_into_schedule_and_overhead_whose_product_is_the_whole():
    from demos.batching.gap import gap
    from demos.models import tiny_encoder

    result = gap(tiny_encoder(seed=0), clients=8, per_client=2, max_batch=4, rounds=2)
    r, spread = result["ratios"], result["spread"]
    # Each ratio is printed rounded to 3 decimals (half a unit: 5e-4): the rounded product
    # can be off by what rounding each factor moves it, plus the whole's own rounding.
    s, o, whole = r["schedule"], r["overhead"], r["batcher_vs_offline"]
    rounding = 5e-4 * (abs(s) + abs(o)) + 5e-4 + 5e-4 ** 2
    assert abs(s * o - whole) <= rounding, (s, o, whole)
    for name, (low, high) in spread.items():
        assert low <= r[name] <= high, name
    assert result["requests"] == 16 and min(result["calls"].values()) >= 16 // 4
    assert result["padded_per_useful"]["offline"] >= 1.0
    json.dumps(result)
    with pytest.raises(ValueError, match=r"^rounds must be an int >= 1, got 0$"):
        gap(tiny_encoder(seed=0), rounds=0)


def _split(whole, schedule, overhead):
    from math import sqrt
    return {"ratios": {"batcher_vs_offline": sqrt(whole[0] * whole[1])},
            "spread": {"batcher_vs_offline": whole, "schedule": schedule, "overhead": overhead}}


def test_the_gap_verdict_names_a_larger_share_only_when_the_rounds_agree():
    from demos.batching.gap import verdict

    assert verdict(_split([1.0, 1.2], [0.9, 1.1], [1.0, 1.2])).startswith("No gap in this run")
    assert verdict(_split([0.8, 1.1], [0.7, 0.8], [0.9, 1.0])).startswith(
        "Cannot tell whether there is a gap")
    assert verdict(_split([0.6, 0.8], [0.6, 0.7], [0.9, 1.0])).endswith(
        "the larger share: the calls it makes (every round's schedule ratio below every "
        "overhead one).")
    assert verdict(_split([0.6, 0.8], [0.95, 1.0], [0.6, 0.9])).endswith(
        "the larger share: what surrounds them (every round's overhead ratio below every "
        "schedule one).")
    assert "cannot be told" in verdict(_split([0.6, 0.8], [0.7, 0.9], [0.8, 1.0]))
