"""What the fixed batcher's gap to the ideal offline batch is made of: its calls, or around them.

The batcher and the offline batch run the same model on the same texts. They differ twice:

* **which calls** they make. The offline batch sorts all the texts and cuts them once. The
  batcher cuts what it holds at each moment: with closed-loop clients that is at most one
  request per client, so fewer texts to sort from, and as clients finish, a tail of small
  calls. More calls and more padded tokens: the *schedule*.
* **what surrounds each call**: a queue, futures, the event loop, a hop to the model's
  worker thread, and a tokenizer call per batch: the *overhead*.

:func:`gap` records the calls of one batcher run, then times, taking turns, the batcher
run, the same calls replayed from one thread, and the offline batch's calls. The replay and
the offline batch run from feeds tokenized before the clock starts, so the two differ only
in which calls they make: ``offline / replay`` is the schedule; ``replay / batcher`` is the
overhead, tokenizing included. Per round, the product of the two is the whole ratio; their
geometric means over the rounds multiply exactly too, which a median of each does not.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from demos.batching import fixed
from demos.batching.perf import workload
from demos.harness import bounded
from demos.models.encoder import token_batches

__all__ = ["gap", "verdict"]


def gap(encoder: Any, clients: int = 64, per_client: int = 4, *, max_batch: int = 32,
        max_wait_s: float = 0.005, rounds: int = 3, kind: str = "long-tail",
        timeout_s: float = 120.0) -> dict[str, Any]:
    """The batcher's throughput against the offline batch, split into schedule and overhead.

    ``clients`` tasks send ``per_client`` requests each, one at a time (as in
    :func:`demos.batching.perf.measure_level`, same texts, token budget ``max_batch × 64``).
    Every round times the three ways once, in turn. Returns ``ratios``: per ratio, the
    geometric mean over the rounds (> 1: the first is faster; ``batcher_vs_offline``,
    ``schedule``: offline over replay, ``overhead``: replay over batcher, and
    ``schedule × overhead = batcher_vs_offline``); ``spread``: each ratio's lowest and
    highest round; ``calls`` and ``padded_per_useful`` of both ways.

    Raises:
        ValueError: for ``rounds < 1`` or an unknown ``kind``.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    texts = workload(kind, clients * per_client, seed=clients)
    lengths = encoder.token_lengths(texts)
    sizes = dict(zip(texts, lengths, strict=True))
    budget = max_batch * 64
    cuts = token_batches(lengths, max_batch=max_batch, max_tokens=budget)
    offline_feeds = [encoder.feeds([texts[i] for i in c]) for c in cuts]
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

    def run(feeds: list[dict[str, Any]]) -> float:
        start = time.perf_counter()
        for f in feeds:
            encoder.session.run(["sentence_embedding"], f)
        return time.perf_counter() - start

    ratios: dict[str, list[float]] = {"batcher_vs_offline": [], "schedule": [], "overhead": []}
    for _ in range(rounds):
        took_batcher = batcher()
        recorded = list(calls)
        replay_feeds = [encoder.feeds(batch) for batch in recorded]  # before the clock
        took_replay, took_offline = run(replay_feeds), run(offline_feeds)
        ratios["batcher_vs_offline"].append(took_offline / took_batcher)
        ratios["schedule"].append(took_offline / took_replay)
        ratios["overhead"].append(took_replay / took_batcher)
    batcher_padded = sum(len(c) * max(sizes[t] for t in c) for c in recorded)
    offline_padded = sum(len(c) * max(lengths[i] for i in c) for c in cuts)
    return {
        "clients": clients, "requests": len(texts), "rounds": rounds,
        "ratios": {k: round(math.exp(sum(map(math.log, v)) / len(v)), 3)
                   for k, v in ratios.items()},
        "spread": {k: [round(min(v), 3), round(max(v), 3)] for k, v in ratios.items()},
        "calls": {"batcher": len(recorded), "offline": len(cuts)},
        "padded_per_useful": {"batcher": round(batcher_padded / sum(lengths), 3),
                              "offline": round(offline_padded / sum(lengths), 3)},
    }


def verdict(result: dict[str, Any]) -> str:
    """One sentence on the gap, said only as far as the rounds of :func:`gap` agree.

    Whether there is a gap: every round below 1, or every round at 1 or above; otherwise
    the rounds disagree. Which part is the larger share: the one whose rounds all lie
    below the other's; where the two spreads overlap, the rounds cannot tell.
    """
    whole, spread = result["ratios"]["batcher_vs_offline"], result["spread"]
    low, high = spread["batcher_vs_offline"]
    if low >= 1:
        return (f"No gap in this run: in every round the batcher kept up with the offline "
                f"batch ({low:.2f}x to {high:.2f}x).")
    if high >= 1:
        return (f"Cannot tell whether there is a gap: the rounds ranged from {low:.2f}x to "
                f"{high:.2f}x the offline batch (geometric mean {whole:.2f}x).")
    sched, over = spread["schedule"], spread["overhead"]
    if sched[1] < over[0]:
        share = "the calls it makes (every round's schedule ratio below every overhead one)"
    elif over[1] < sched[0]:
        share = "what surrounds them (every round's overhead ratio below every schedule one)"
    else:
        return (f"A gap in every round ({low:.2f}x to {high:.2f}x), but which part is the "
                f"larger share cannot be told: the schedule's rounds ({sched[0]:.2f}x to "
                f"{sched[1]:.2f}x) and the overhead's ({over[0]:.2f}x to {over[1]:.2f}x) overlap.")
    return f"A gap in every round ({low:.2f}x to {high:.2f}x); the larger share: {share}."
