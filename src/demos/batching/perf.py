"""Measure a micro-batcher: throughput and latency against unbatched calls and an ideal batch.

Three ways to serve the same requests, measured side by side in one run:

* ``unbatched``: ``clients`` threads, each calling the model with one item per request.
* ``batcher``: ``clients`` tasks, each awaiting ``MicroBatcher.submit`` per request.
* ``offline``: every request known in advance, encoded in batches of ``max_batch``
  (length-sorted): the throughput no online batcher can beat.

Also :func:`heartbeat`: how late a 1 ms timer on the event loop fires while a batcher works.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from demos.harness import bounded, hammer

__all__ = ["compare", "heartbeat", "measure_level", "sentences"]

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
                  max_wait_s: float = 0.005, timeout_s: float = 120.0,
                  impl: ModuleType | None = None) -> dict[str, dict[str, float]]:
    """The three ways at one load level: ``clients`` concurrent clients × ``per_client``."""
    if impl is None:
        from demos.batching import fixed as impl
    texts = sentences(clients * per_client, seed=clients)
    encode = encoder.encode

    def one(thread: int, index: int) -> Any:
        return encode([texts[thread * per_client + index]], batch_size=1)

    unbatched = hammer(one, clients, per_client, timeout_s=timeout_s, name="unbatched")
    if unbatched.errors:
        raise unbatched.errors[0]

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

    latencies, wall = bounded(serve, timeout_s, name="batcher-bench").unwrap()
    start = time.perf_counter()
    encode(texts, batch_size=max_batch)
    offline_s = time.perf_counter() - start
    n = clients * per_client
    return {
        "unbatched": _summary([c.duration_s for c in unbatched.calls], unbatched.wall_s, n),
        "batcher": _summary(latencies, wall, n),
        "offline": _summary([offline_s], offline_s, n),  # every answer arrives at the end
    }


def compare(clients: Sequence[int] = (1, 8, 64), requests: int = 256, *, max_batch: int = 32,
            max_wait_s: float = 0.005, encoder: Any = None) -> dict[str, Any]:
    """:func:`measure_level` at each load level, with the ratios the chapter discusses.

    ``requests`` is the total per level (each client sends ``requests // clients``, at
    least 2). JSON-ready.
    """
    if encoder is None:
        from demos.models import load_encoder
        encoder = load_encoder()
    encoder.encode(sentences(max_batch, seed=99), batch_size=max_batch)  # warm up the session
    levels: dict[str, Any] = {}
    for n in clients:
        level = measure_level(encoder, n, max(2, requests // n), max_batch=max_batch,
                              max_wait_s=max_wait_s)
        b, u, o = level["batcher"], level["unbatched"], level["offline"]
        level["ratios"] = {
            "batcher_vs_offline_throughput": round(b["throughput_rps"] / o["throughput_rps"], 3),
            "batcher_vs_unbatched_throughput": round(b["throughput_rps"] / u["throughput_rps"], 3),
            "batcher_minus_unbatched_p50_ms": round(b["p50_ms"] - u["p50_ms"], 2),
        }
        levels[str(n)] = level
    return {"max_batch": max_batch, "max_wait_s": max_wait_s, "requests_per_level": requests,
            "clients": levels}


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
