"""What the fixed batcher's gap to the ideal offline batch is made of: its calls, or around them.

The batcher and the offline batch run the same model on the same texts. They differ twice:

* **which calls** they make. The offline batch sorts all the texts and cuts them once. The
  batcher cuts what it holds at each moment: with closed-loop clients that is at most one
  request per client, so fewer texts to sort from, and as clients finish, a tail of small
  calls. More calls and more padded tokens: the *schedule*.
* **what surrounds each call**: a queue, futures, the event loop, a hop to the model's
  worker thread, a tokenizer call per batch: the *overhead*.

:func:`gap` records the calls of one batcher run, then times, taking turns, the batcher
run, the same calls replayed from one thread with nothing around them, and the offline
batch. ``offline / replay`` is what the schedule leaves; ``replay / batcher`` what the
overhead leaves; their product is the whole ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from demos.batching import fixed
from demos.batching.perf import workload
from demos.harness import bounded
from demos.models.encoder import token_batches

__all__ = ["gap"]


def gap(encoder: Any, clients: int = 64, per_client: int = 4, *, max_batch: int = 32,
        max_wait_s: float = 0.005, rounds: int = 3, kind: str = "long-tail",
        timeout_s: float = 120.0) -> dict[str, Any]:
    """The batcher's throughput against the offline batch, split into schedule and overhead.

    ``clients`` tasks send ``per_client`` requests each, one at a time (as in
    :func:`demos.batching.perf.measure_level`, same texts, token budget ``max_batch × 64``).
    Each ratio is the median over ``rounds`` of that round's ratio (> 1: the first is
    faster). Returns ``ratios`` (``batcher_vs_offline``, ``schedule``: offline over replay,
    ``overhead``: replay over batcher), ``calls`` and ``padded_per_useful`` of both ways.

    Raises:
        ValueError: for ``rounds < 1`` or an unknown ``kind``.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    texts = workload(kind, clients * per_client, seed=clients)
    lengths = encoder.token_lengths(texts)
    sizes = dict(zip(texts, lengths, strict=True))
    budget = max_batch * 64
    calls: list[list[str]] = []

    def model_fn(batch: list[str]) -> Any:
        calls.append(list(batch))
        return encoder.session.run(["sentence_embedding"], encoder.feeds(batch))[0]

    def batcher() -> float:
        calls.clear()

        async def serve() -> float:
            async with fixed.MicroBatcher(model_fn, max_batch=max_batch, max_wait_s=max_wait_s,
                                          max_batch_tokens=budget,
                                          size_fn=sizes.__getitem__) as b:
                async def client(c: int) -> None:
                    for i in range(per_client):
                        await b.submit(texts[c * per_client + i])
                start = time.perf_counter()
                await asyncio.gather(*(client(c) for c in range(clients)))
                return time.perf_counter() - start

        return bounded(serve, timeout_s, name="gap-batcher").unwrap()

    def replay(recorded: list[list[str]]) -> float:
        start = time.perf_counter()
        for batch in recorded:
            encoder.session.run(["sentence_embedding"], encoder.feeds(batch))
        return time.perf_counter() - start

    def offline() -> float:
        start = time.perf_counter()
        encoder.encode(texts, batch_size=max_batch, max_batch_tokens=budget)
        return time.perf_counter() - start

    ratios: dict[str, list[float]] = {"batcher_vs_offline": [], "schedule": [], "overhead": []}
    for _ in range(rounds):
        took_batcher = batcher()
        recorded = list(calls)
        took_replay, took_offline = replay(recorded), offline()
        ratios["batcher_vs_offline"].append(took_offline / took_batcher)
        ratios["schedule"].append(took_offline / took_replay)
        ratios["overhead"].append(took_replay / took_batcher)
    cuts = token_batches(lengths, max_batch=max_batch, max_tokens=budget)
    batcher_padded = sum(len(c) * max(sizes[t] for t in c) for c in recorded)
    offline_padded = sum(len(c) * max(lengths[i] for i in c) for c in cuts)
    return {
        "clients": clients, "requests": len(texts), "rounds": rounds,
        "ratios": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
        "calls": {"batcher": len(recorded), "offline": len(cuts)},
        "padded_per_useful": {"batcher": round(batcher_padded / sum(lengths), 3),
                              "offline": round(offline_padded / sum(lengths), 3)},
    }
