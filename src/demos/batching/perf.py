"""Measure a micro-batcher: throughput, latency and padding against unbatched and offline.

Five ways to serve the same requests, measured side by side in one run, taking turns:

* ``unbatched``: ``clients`` threads, each calling the model with one text per request.
* ``first_fix``: ``clients`` tasks awaiting ``first_fix.MicroBatcher.submit``: the deadline
  batcher, which waits up to ``max_wait_s`` for company and batches in arrival order.
* ``batcher``: the same with ``fixed.MicroBatcher``: no idle wait, sorted, token budget.
* ``offline``: every text known in advance, ``Encoder.encode(texts, batch_size=max_batch)``
  (sorted by tokens, cut by the token budget): the throughput no online batcher can beat.
* ``offline_unsorted``: one model call per ``max_batch`` texts in arrival order.

Two workloads (:func:`workload`): ``short``, made-up sentences of 8 to 16 words, and
``long-tail``, sentences and paragraphs of this chapter's own docstrings, 1 in 64 at the
256-token limit, shuffled. Every model call is counted: rows, padded tokens (rows ×
longest) and useful tokens, so each way also reports its padding waste.

Also :func:`heartbeat`: how late a 1 ms timer on the event loop fires while a batcher works.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import re
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from demos.batching._tally import CallCounter, median_ratios, one_call, summarise
from demos.harness import bounded, hammer, progress

__all__ = ["WAYS", "WORKLOADS", "book_texts", "compare", "heartbeat", "measure_level",
           "model_batch_speedup", "sentences", "workload"]

WAYS = ("unbatched", "first_fix", "batcher", "offline", "offline_unsorted")
WORKLOADS = ("short", "long-tail")

_WORDS = ("the", "a", "model", "batch", "request", "client", "server", "vector", "search",
          "query", "index", "token", "embedding", "latency", "queue", "event", "loop",
          "thread", "pool", "answer", "fast", "slow", "small")


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` made-up sentences of 8 to 16 words, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(_WORDS, int(rng.integers(8, 17)))) for _ in range(n)]


def book_texts(package: str = "demos.batching") -> tuple[list[str], list[str]]:
    """Sentences and paragraphs of this book's own docstrings (``package`` and its modules,
    their functions, classes and methods), in a fixed order.

    Real prose with a natural spread of lengths, shipped with the code, so the workload
    needs no download; this chapter's package by default, so that only this chapter's
    edits change it.
    """
    root = importlib.import_module(package)
    inside = pkgutil.walk_packages(root.__path__, package + ".")
    names = [package, *sorted(m.name for m in inside)]
    docs: list[str] = []
    for name in names:
        module = importlib.import_module(name)
        docs.append(inspect.getdoc(module) or "")
        for _, obj in sorted(vars(module).items()):
            if getattr(obj, "__module__", None) != name or not callable(obj):
                continue
            docs.append(inspect.getdoc(obj) or "")
            if inspect.isclass(obj):
                docs += [inspect.getdoc(f) or "" for _, f in sorted(vars(obj).items())
                         if inspect.isfunction(f)]
    paragraphs = [" ".join(p.split()) for d in docs for p in d.split("\n\n")]
    paragraphs = [p for p in paragraphs if len(p.split()) >= 4]
    found = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p)]
    return [s for s in found if 3 <= len(s.split()) <= 40], paragraphs


def workload(kind: str, n: int, seed: int = 0, *, package: str = "demos.batching") -> list[str]:
    """``n`` texts, shuffled: ``"short"`` or ``"long-tail"`` (see the module docstring).

    ``long-tail``: 1 in 64 (at least one) is a run of paragraphs well past 256 tokens, so it
    is cut at the limit; of the rest, 4 in 5 are sentences and 1 in 5 paragraphs, from
    ``package``'s docstrings (:func:`book_texts`; another package gives held-out texts).
    """
    if kind == "short":
        return sentences(n, seed)
    if kind != "long-tail":
        raise ValueError(f"kind must be one of {', '.join(map(repr, WORKLOADS))}, got {kind!r}")
    rng = np.random.default_rng(seed)
    found, paragraphs = book_texts(package)
    n_long = max(1, n // 64)
    texts = [" ".join(rng.choice(paragraphs, 12)) for _ in range(n_long)]
    for _ in range(n - n_long):
        pool = paragraphs if rng.random() < 0.2 else found
        texts.append(str(pool[int(rng.integers(len(pool)))]))
    rng.shuffle(texts)
    return texts


def measure_level(encoder: Any, clients: int, per_client: int, *, kind: str = "long-tail",
                  max_batch: int = 32, max_wait_s: float = 0.005,
                  max_batch_tokens: int | None = None, repeats: int = 1,
                  timeout_s: float = 120.0, ways: Sequence[str] = WAYS,
                  impl: ModuleType | None = None) -> dict[str, Any]:
    """The ways at one load level: ``clients`` concurrent clients × ``per_client`` requests.

    With ``repeats > 1`` the ways take turns (A B C A B C …) and each keeps its fastest
    round (on a shared machine, the slow rounds measure the neighbours); ``"ratios"`` holds
    the median over rounds of each round's ratios. ``impl`` replaces ``fixed`` for the
    ``batcher`` way (a reader's module with a ``MicroBatcher``).
    """
    from demos.batching import first_fix, fixed

    if any(w not in WAYS for w in ways):
        raise ValueError(f"ways must be a selection of {WAYS}, got {tuple(ways)!r}")
    n = clients * per_client
    texts = workload(kind, n, seed=clients)
    sizes = dict(zip(texts, encoder.token_lengths(texts), strict=True))
    budget = max_batch * 64 if max_batch_tokens is None else max_batch_tokens

    def unbatched() -> dict[str, float]:
        counter = CallCounter()
        model = one_call(encoder, counter)
        result = hammer(lambda t, i: model([texts[t * per_client + i]]), clients, per_client,
                        timeout_s=timeout_s, name="unbatched")
        if result.errors:
            raise result.errors[0]
        return summarise([c.duration_s for c in result.calls], result.wall_s, n, counter)

    def online(module: ModuleType) -> dict[str, float]:
        counter = CallCounter()

        async def serve() -> tuple[list[float], float]:
            latencies: list[float] = []
            async with module.MicroBatcher(one_call(encoder, counter), max_batch=max_batch,
                                           max_wait_s=max_wait_s, max_batch_tokens=budget,
                                           size_fn=sizes.__getitem__) as batcher:
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
        return summarise(latencies, wall, n, counter)

    def offline() -> dict[str, float]:
        from demos.models.encoder import token_batches

        lengths = np.array([sizes[t] for t in texts])
        start = time.perf_counter()
        encoder.encode(texts, batch_size=max_batch, max_batch_tokens=budget)
        wall = time.perf_counter() - start
        summary = summarise([wall], wall, n)  # every answer arrives at the end
        cuts = token_batches(lengths.tolist(), max_batch=max_batch, max_tokens=budget)
        summary["rows_per_call"] = round(n / len(cuts), 2)
        summary["padded_per_useful"] = round(
            float(sum(len(c) * lengths[c].max() for c in cuts) / lengths.sum()), 3)
        return summary

    def offline_unsorted() -> dict[str, float]:
        counter = CallCounter()
        model = one_call(encoder, counter)
        start = time.perf_counter()
        for first in range(0, n, max_batch):
            model(texts[first:first + max_batch])
        wall = time.perf_counter() - start
        return summarise([wall], wall, n, counter)

    run = {"unbatched": unbatched, "first_fix": lambda: online(first_fix),
           "batcher": lambda: online(impl or fixed), "offline": offline,
           "offline_unsorted": offline_unsorted}
    best: dict[str, Any] = {}
    rounds: list[dict[str, dict[str, float]]] = []
    for _ in range(repeats):
        rounds.append({})
        for name in ways:
            result = rounds[-1][name] = run[name]()
            if name not in best or result["throughput_rps"] > best[name]["throughput_rps"]:
                best[name] = result
    best["ratios"] = median_ratios(rounds)
    return best


def compare(clients: Sequence[int] = (1, 8, 64), requests: int = 256, *, max_batch: int = 32,
            max_wait_s: float = 0.005, max_batch_tokens: int | None = None, repeats: int = 5,
            kinds: Sequence[str] = WORKLOADS, ways: Sequence[str] = WAYS,
            timeout_s: float = 120.0, encoder: Any = None) -> dict[str, Any]:
    """:func:`measure_level` at each load level and workload, with the ratios the chapter uses.

    ``requests`` is the total per level (each client sends ``requests // clients``, at
    least 2); each way keeps its best of ``repeats`` interleaved rounds, and each ratio is
    the median of the rounds' ratios; ``timeout_s`` bounds each way's run. JSON-ready:
    ``levels[kind][clients][way]`` and ``levels[kind][clients]["ratios"]``.
    """
    if encoder is None:
        from demos.models import load_encoder
        encoder = load_encoder()
    warm = sentences(2 * max_batch, seed=99)
    encoder.encode(warm, batch_size=max_batch)  # warm up the session
    levels: dict[str, Any] = {}
    for kind in kinds:
        levels[kind] = {}
        for n in progress(clients, desc=f"load levels ({kind})"):
            levels[kind][str(n)] = measure_level(
                encoder, n, max(2, requests // n), kind=kind, max_batch=max_batch,
                max_wait_s=max_wait_s, max_batch_tokens=max_batch_tokens, repeats=repeats,
                ways=ways, timeout_s=timeout_s)
    speedup = model_batch_speedup(encoder, warm, max_batch)
    return {"max_batch": max_batch, "max_wait_s": max_wait_s,
            "max_batch_tokens": max_batch * 64 if max_batch_tokens is None else max_batch_tokens,
            "requests_per_level": requests, "repeats": repeats,
            "model_batch_speedup": speedup, "levels": levels}


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
