"""The situations ``scenario.run`` puts a batcher in: each one hangs the broken batcher.

Every case is a function ``case(impl, knobs, tally, hooks)``, plain or async. It records
each request in ``tally`` as it goes (so a hung case still says what it sent and got) and
appends to ``hooks`` whatever unblocks it when the bound expires.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = ["CASES", "Knobs", "Tally", "double"]


def double(items: list[int]) -> list[int]:
    """The scenario's stand-in model: about 1 ms per call; a negative item fails the batch."""
    time.sleep(0.001)
    if any(x < 0 for x in items):
        raise ValueError(f"the model cannot encode {min(items)}")
    return [2 * x for x in items]


@dataclass(frozen=True, slots=True)
class Knobs:
    clients: int
    requests: int
    max_batch: int
    max_wait_s: float
    timeout_s: float
    model_fn: Callable[[list[Any]], Any]
    expect: Callable[[Any], Any] | None  # expected output for an item; None: not checked


@dataclass(slots=True)
class Tally:
    """What one case sent and got back. Written on one thread at a time."""

    origin: float = field(default_factory=time.perf_counter)
    sent: int = 0
    ok: int = 0
    errors: int = 0  # answered with an exception (the model's, or a clear refusal)
    cancelled: int = 0  # given up by the client on purpose
    wrong: int = 0  # answered with another request's output
    spans: list[tuple[str, float, float | None, str]] = field(default_factory=list)

    def now(self) -> float:
        return time.perf_counter() - self.origin

    @property
    def lost(self) -> int:
        """Requests still without an answer."""
        return self.sent - self.ok - self.errors - self.cancelled

    async def ask(self, batcher: Any, item: Any, knobs: Knobs, row: str) -> None:
        self.sent += 1
        start, index = self.now(), len(self.spans)
        self.spans.append((row, start, None, "waiting"))
        try:
            value = await batcher.submit(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.errors += 1
            self.spans[index] = (row, start, self.now(), "error")
            return
        self.ok += 1
        self.spans[index] = (row, start, self.now(), "answered")
        if knobs.expect is not None and knobs.expect(item) != value:
            self.wrong += 1


def _batcher(impl: ModuleType, k: Knobs, **overrides: Any) -> Any:
    options: dict[str, Any] = {"max_batch": k.max_batch, "max_wait_s": k.max_wait_s}
    return impl.MicroBatcher(k.model_fn, **{**options, **overrides})


async def _gather(*coros: Any) -> None:
    tasks = [asyncio.create_task(c, name=f"client-{i}") for i, c in enumerate(coros)]
    await asyncio.gather(*tasks)


async def partial_batch(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """``clients`` clients each send ``requests`` requests, one after another."""
    async with _batcher(impl, k) as batcher:
        async def client(c: int) -> None:
            for i in range(k.requests):
                await tally.ask(batcher, c * k.requests + i, k, f"client {c}")
        await _gather(*(client(c) for c in range(k.clients)))


async def cancelled_request(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """A client gives up on its queued request; then a full batch of requests arrives."""
    async with _batcher(impl, k) as batcher:
        victim = asyncio.create_task(batcher.submit(1), name="client-cancelled")
        tally.sent += 1
        await asyncio.sleep(0)  # the victim runs until it awaits its queued request
        victim.cancel()
        await asyncio.gather(victim, return_exceptions=True)
        tally.cancelled += 1
        await _gather(*(tally.ask(batcher, i, k, f"client {i}") for i in range(k.max_batch)))


async def failing_batch(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """A batch the model rejects (one bad item), then a batch it accepts."""
    async with _batcher(impl, k) as batcher:
        bad = [-1, *range(1, k.max_batch)]
        await _gather(*(tally.ask(batcher, x, k, f"client {i}") for i, x in enumerate(bad)))
        await _gather(*(tally.ask(batcher, i, k, f"client {i}") for i in range(k.max_batch)))


async def warmup(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """A batcher told to warm the model up, then a full batch of requests."""
    async with _batcher(impl, k, warmup=0) as batcher:
        await _gather(*(tally.ask(batcher, i, k, f"client {i}") for i in range(k.max_batch)))


async def loop_thread_bridge(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """Blocking ``submit_threadsafe()`` from a worker thread, then from the loop's thread."""
    async with _batcher(impl, k, max_batch=1) as batcher:
        for row, on_loop in (("from a thread", False), ("on the loop", True)):
            tally.sent += 1
            start = tally.now()
            try:  # the batcher's own bound fires after ours: the hang is ours to catch
                call = functools.partial(batcher.submit_threadsafe, 2, timeout_s=k.timeout_s + 0.25)
                value = call() if on_loop else await asyncio.to_thread(call)
            except RuntimeError:  # a clear refusal is an answer
                tally.errors += 1
                tally.spans.append((row, start, tally.now(), "error"))
                continue
            tally.ok += 1
            tally.wrong += k.expect is not None and value != k.expect(2)
            tally.spans.append((row, start, tally.now(), "answered"))


def nested_pool(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """``clients`` documents of ``requests`` chunks through ``encode_documents``, 1 worker."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="scenario-pool")
    # On a hang: cancel the queued chunks, which unblocks the worker waiting on them.
    hooks.append(lambda: pool.shutdown(wait=False, cancel_futures=True))
    docs = [[c * k.requests + i for i in range(k.requests)] for c in range(k.clients)]
    tally.sent += k.clients * k.requests
    try:
        outputs = impl.encode_documents(pool, k.model_fn, docs)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for doc, out in zip(docs, outputs, strict=True):
        for item, value in zip(doc, out, strict=True):
            tally.ok += 1
            tally.wrong += k.expect is not None and value != k.expect(item)


async def starved_loop(impl: ModuleType, k: Knobs, tally: Tally, hooks: list) -> None:
    """A model that returns only once the event loop has ticked while it ran."""
    ticked = threading.Event()
    hooks.append(ticked.set)  # on a hang: let the model return

    def probe(items: list[Any]) -> Any:
        ticked.clear()
        ticked.wait(k.timeout_s + 5)  # a heartbeat on the loop sets it; the hook on a hang
        return k.model_fn(items)

    async def heartbeat() -> None:
        while True:
            ticked.set()
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(heartbeat(), name="heartbeat")
    try:
        async with impl.MicroBatcher(probe, max_batch=1, max_wait_s=k.max_wait_s) as batcher:
            await tally.ask(batcher, 3, k, "client 0")
    finally:
        beat.cancel()


CASES: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (partial_batch, cancelled_request, failing_batch, warmup, loop_thread_bridge,
              nested_pool, starved_loop)
}
