"""Measure a micro-batcher: throughput and latency against unbatched calls and an ideal batch.

Three ways to serve the same requests, measured side by side in one run:

* ``unbatched``: ``clients`` threads, each calling the model with one item per request.
* ``batcher``: ``clients`` tasks, each awaiting ``MicroBatcher.submit`` per request.
* ``offline``: every request known in advance, encoded in batches of ``max_batch``
  (length-sorted): the throughput no online batcher can beat.
* ``offline_unsorted``: the same batches in arrival order, without sorting by length. The
  batcher cannot sort requests it has not seen yet, so this separates what sorting buys
  (less padding) from what the batching machinery itself costs.

Also :func:`heartbeat`: how late a 1 ms timer on the event loop fires while a batcher works.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from demos.harness import bounded, hammer, progress

__all__ = ["compare", "heartbeat", "measure_level", "model_batch_speedup", "sentences"]

_WORDS = ("the", "a", "model", "batch", "request", "client", "server", "vector", "search",
          "query", "index", "token", "embedding", "latency", "queue", "event", "loop",
          "thread", "pool", "answer", "fast", "slow", "small")


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` made-up sentences of 8 to 16 words, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(_WORDS, int(rng.integers(8, 17)))) for _ in range(n)]


def _summary(latencies_s: Sequence[float], wall_s: float, n: int) -> dict[str, float]:
    ms = np.asarray(latencies_s) * 1000
    return {"throughput_rps": round(n / wall_s, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def measure_level(encoder: Any, clients: int, per_client: int, *, max_batch: int = 32,
                  max_wait_s: float = 0.005, repeats: int = 1, timeout_s: float = 120.0,
                  impl: ModuleType | None = None) -> dict[str, dict[str, float]]:
    """The three ways at one load level: ``clients`` concurrent clients × ``per_client``.

    With ``repeats > 1`` the three ways take turns (A B C A B C …) and each keeps its
    fastest round: on a shared machine, the slow rounds measure the neighbours.
    """
    if impl is None:
        from demos.batching import fixed as impl
    texts = sentences(clients * per_client, seed=clients)
    encode = encoder.encode
    n = clients * per_client

    def one(thread: int, index: int) -> Any:
        return encode([texts[thread * per_client + index]], batch_size=1)

    def unbatched() -> dict[str, float]:
        result = hammer(one, clients, per_client, timeout_s=timeout_s, name="unbatched")
        if result.errors:
            raise result.errors[0]
        return _summary([c.duration_s for c in result.calls], result.wall_s, n)

    def model_fn(items: list[str]) -> Any:
        return encode(items, batch_size=len(items))

    async def serve() -> tuple[list[float], float]:
        latencies: list[float] = []
        async with impl.MicroBatcher(model_fn, max_batch=max_batch,
                                     max_wait_s=max_wait_s) as batcher:
            async def client(c: int) -> None:
                for i in range(per_client):
                    start = time.perf_counter()
                    await batcher.submit(texts[c * per_client + i])
                    latencies.append(time.perf_counter() - start)
            start = time.perf_counter()
            await asyncio.gather(*(asyncio.create_task(client(c), name=f"client-{c}")
                                   for c in range(clients)))
            return latencies, time.perf_counter() - start

    def batcher() -> dict[str, float]:
        latencies, wall = bounded(serve, timeout_s, name="batcher-bench").unwrap()
        return _summary(latencies, wall, n)

    def offline() -> dict[str, float]:
        start = time.perf_counter()
        encode(texts, batch_size=max_batch)
        wall = time.perf_counter() - start
        return _summary([wall], wall, n)  # every answer arrives at the end

    def offline_unsorted() -> dict[str, float]:
        start = time.perf_counter()
        for first in range(0, n, max_batch):
            encode(texts[first:first + max_batch], batch_size=max_batch)
        wall = time.perf_counter() - start
        return _summary([wall], wall, n)

    ways = {"unbatched": unbatched, "batcher": batcher, "offline": offline,
            "offline_unsorted": offline_unsorted}
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeats):
        for name, way in ways.items():
            result = way()
            if name not in best or result["throughput_rps"] > best[name]["throughput_rps"]:
                best[name] = result
    return best


def compare(clients: Sequence[int] = (1, 8, 64), requests: int = 256, *, max_batch: int = 32,
            max_wait_s: float = 0.005, repeats: int = 3, encoder: Any = None) -> dict[str, Any]:
    """:func:`measure_level` at each load level, with the ratios the chapter discusses.

    ``requests`` is the total per level (each client sends ``requests // clients``, at
    least 2); each way keeps its best of ``repeats`` interleaved rounds. JSON-ready.
    """
    if encoder is None:
        from demos.models import load_encoder
        encoder = load_encoder()
    warm = sentences(2 * max_batch, seed=99)
    encoder.encode(warm, batch_size=max_batch)  # warm up the session
    levels: dict[str, Any] = {}
    for n in progress(clients, desc="load levels"):
        level = measure_level(encoder, n, max(2, requests // n), max_batch=max_batch,
                              max_wait_s=max_wait_s, repeats=repeats)
        b, u, o = level["batcher"], level["unbatched"], level["offline"]
        o_unsorted = level["offline_unsorted"]
        level["ratios"] = {
            "batcher_vs_offline_throughput": round(b["throughput_rps"] / o["throughput_rps"], 3),
            "batcher_vs_offline_unsorted_throughput":
                round(b["throughput_rps"] / o_unsorted["throughput_rps"], 3),
            "batcher_vs_unbatched_throughput": round(b["throughput_rps"] / u["throughput_rps"], 3),
            "batcher_minus_unbatched_p50_ms": round(b["p50_ms"] - u["p50_ms"], 2),
        }
        levels[str(n)] = level
    speedup = model_batch_speedup(encoder, warm, max_batch)
    return {"max_batch": max_batch, "max_wait_s": max_wait_s, "requests_per_level": requests,
            "repeats": repeats, "model_batch_speedup": speedup, "clients": levels}


def model_batch_speedup(encoder: Any, texts: Sequence[str], max_batch: int) -> float:
    """How much faster the model alone runs ``texts`` in batches of ``max_batch`` than one by one.

    One thread, no batcher: the ceiling on what any batcher can gain over unbatched calls
    made one at a time.
    """
    start = time.perf_counter()
    for text in texts:
        encoder.encode([text], batch_size=1)
    single = time.perf_counter() - start
    start = time.perf_counter()
    encoder.encode(texts, batch_size=max_batch)
    return round(single / (time.perf_counter() - start), 3)


def heartbeat(impl: ModuleType, model_fn: Callable[[list[Any]], Any], items: Sequence[Any], *,
              max_batch: int, rounds: int = 4, timeout_s: float = 60.0) -> list[float]:
    """Lateness (ms) of every tick of a 1 ms timer while ``rounds`` full batches are served."""
    if len(items) < max_batch:
        raise ValueError(f"items must hold at least max_batch={max_batch}, got {len(items)}")

    async def measure() -> list[float]:
        late: list[float] = []
        stop = asyncio.Event()

        async def beat() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                due = loop.time() + 0.001
                await asyncio.sleep(0.001)
                late.append(max(0.0, loop.time() - due) * 1000)

        ticker = asyncio.create_task(beat(), name="heartbeat")
        async with impl.MicroBatcher(model_fn, max_batch=max_batch, max_wait_s=0.01) as batcher:
            for _ in range(rounds):
                await asyncio.gather(*(asyncio.create_task(batcher.submit(x), name=f"client-{i}")
                                       for i, x in enumerate(items[:max_batch])))
        stop.set()
        await ticker
        return late

    return bounded(measure, timeout_s, name="heartbeat").unwrap()
