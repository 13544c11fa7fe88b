"""Encoder throughput, measured the same way by the notebook, the CLI and the report.

``python -m demos bench encoder`` prints :func:`bench`'s dict as JSON;
``python -m demos bench encoder --peer fastembed`` prints :func:`bench_peer`'s: our encoder
and fastembed side by side on the same graph, as ratios of paired, interleaved rounds
(a shared machine's noise hits both sides of a pair alike; absolute rates do not travel).
``python -m demos bench encoder --spinning``: see :mod:`demos.models.spinning`.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import onnxruntime as ort

from demos.models.encoder import Encoder, load_encoder, make_session

__all__ = ["BENCH_TEXTS", "PEERS", "bench", "bench_peer", "held_out_texts"]

#: The libraries :func:`bench_peer` can race.
PEERS = ("fastembed",)

#: Sentences of everyday length (8 to 30 word pieces), cycled to fill each batch.
BENCH_TEXTS: tuple[str, ...] = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is riding a horse.",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password if I no longer have access to my email?",
    "Stock markets fell sharply on Monday after the central bank raised interest rates.",
    "The café in Zürich serves a naïve but charming breakfast.",
    "Vector databases store embeddings and search them by cosine similarity.",
    "It is raining.",
    "Our quarterly report shows steady growth in every region except the north-east.",
    "Please turn off the lights when you leave the room.",
    "Transformers process every token of a sentence in parallel.",
)


def bench(
    batch_sizes: Sequence[int] = (1, 32),
    seconds: float = 2.0,
    *,
    encoder: Encoder | None = None,
    texts: Sequence[str] = BENCH_TEXTS,
) -> dict[str, Any]:
    """Measure ``encoder.encode`` in sentences per second, for each batch size.

    Each batch size gets one warm-up call, then calls of exactly ``batch_size`` texts
    (cycling through ``texts``) until ``seconds`` have passed, at least 3 calls.

    Args:
        batch_sizes: the batch sizes to measure (each >= 1).
        seconds: time budget per batch size (> 0).
        encoder: what to measure; :func:`load_encoder` () when omitted.
        texts: the sentences to cycle through.

    Returns:
        A JSON-ready dict: ``model``, ``dtype``, ``onnxruntime``, ``intra_op_threads``,
        ``seconds`` and ``sentences_per_s`` (batch size, as a string, → rate).

    Raises:
        ValueError: for an empty or non-positive batch size list, or ``seconds <= 0``.

    Concurrency: blocks for about ``seconds × len(batch_sizes)``; do not run two at once
    on one machine if you want the figures to mean anything.
    """
    sizes = list(batch_sizes)
    if not sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in sizes):
        raise ValueError(f"batch_sizes must be a non-empty list of ints >= 1, got {sizes!r}")
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    enc = load_encoder() if encoder is None else encoder
    pool = list(texts)
    rates: dict[str, float] = {}
    for size in sizes:
        cycle = itertools.cycle(pool)
        batches = [[next(cycle) for _ in range(size)] for _ in range(len(pool))]
        enc.encode(batches[0], batch_size=size)  # warm-up: first-call allocations
        calls, start = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - start < seconds:
            enc.encode(batches[calls % len(batches)], batch_size=size)
            calls += 1
        rates[str(size)] = round(calls * size / (time.perf_counter() - start), 1)
    return {
        "model": enc.name,
        "dtype": enc.dtype,
        "onnxruntime": ort.__version__,
        "intra_op_threads": enc.session.get_session_options().intra_op_num_threads,
        "seconds": seconds,
        "sentences_per_s": rates,
    }


def held_out_texts(n: int = 64, seed: int = 0) -> list[str]:
    """``n`` long-tail texts no tuning looked at: sentences and paragraphs of
    :mod:`demos.harness`'s docstrings, 1 in 64 (at least one) past 256 word pieces
    (:func:`demos.batching.perf.workload`)."""
    from demos.batching.perf import workload

    return workload("long-tail", n, seed, package="demos.harness")


def bench_peer(
    peer: str = "fastembed",
    batch_sizes: Sequence[int] = (1, 32),
    rounds: int = 7,
    *,
    encoder: Encoder | None = None,
    texts: Sequence[str] | None = None,
    model_max_length: int = 256,
) -> dict[str, Any]:
    """Our encoder against ``peer`` on the same ONNX graph, the same texts, the same calls.

    For each batch size, each side embeds ``texts`` in calls of ``batch_size`` texts (batch
    1: one call per text, as a server answering one request does). Two of ours race the
    peer: ``ours`` (our session, spinning off: see :func:`make_session`) and
    ``ours_spinning`` (the same with ``allow_spinning=True``, as fastembed runs). Each round
    runs the three back to back, rotating who goes first; a round's ratio is the peer's
    time over ours (> 1: we are faster), and ``ratios[side][batch]`` holds the median over
    ``rounds``. The peer gets our thread count. ``max_abs_diff`` compares the embeddings.

    Raises:
        ValueError: for an unknown peer, bad batch sizes or ``rounds < 1``.
        ModuleNotFoundError: if the peer is not installed (requirements-bench.txt).
    """
    from demos.models.peer import (
        FASTEMBED_VERSION,
        fastembed_embed,
        fastembed_folder,
        fastembed_model,
    )

    if peer not in PEERS:
        raise ValueError(f"peer must be one of {', '.join(map(repr, PEERS))}, got {peer!r}")
    sizes = list(batch_sizes)
    if not sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in sizes):
        raise ValueError(f"batch_sizes must be a non-empty list of ints >= 1, got {sizes!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    enc = load_encoder() if encoder is None else encoder
    pool = held_out_texts() if texts is None else list(texts)
    threads = enc.session.get_session_options().intra_op_num_threads
    spinning = replace(enc, session=make_session(enc.model_path.read_bytes(), threads,
                                                 allow_spinning=True))
    model = fastembed_model(fastembed_folder(model_max_length, enc), threads=threads)
    sides: dict[str, Callable[[list[str], int], Any]] = {
        "ours": lambda chunk, size: enc.encode(chunk, batch_size=size),
        "ours_spinning": lambda chunk, size: spinning.encode(chunk, batch_size=size),
        peer: lambda chunk, size: fastembed_embed(model, chunk, size),
    }
    mine = ("ours", "ours_spinning")
    diff = max(float(abs(sides[s](pool, 32) - sides[peer](pool, 32)).max()) for s in mine)

    def timed(side: str, size: int) -> float:
        start = time.perf_counter()
        for first in range(0, len(pool), size):
            sides[side](pool[first:first + size], size)
        return time.perf_counter() - start

    ratios: dict[str, dict[str, list[float]]] = {s: {str(b): [] for b in sizes} for s in mine}
    best: dict[str, dict[str, float]] = {side: {} for side in sides}
    names = list(sides)
    for r in range(rounds):
        for size in sizes:
            order = names[r % 3:] + names[:r % 3]  # each side leads a third of the rounds
            took = {side: timed(side, size) for side in order}
            for side in mine:
                ratios[side][str(size)].append(took[peer] / took[side])
            for side, seconds in took.items():
                rate = len(pool) / seconds
                best[side][str(size)] = round(max(best[side].get(str(size), 0.0), rate), 1)
    lengths = enc.token_lengths(pool)
    return {
        "peer": f"{peer} {FASTEMBED_VERSION}",
        "model": enc.name,
        "onnxruntime": ort.__version__,
        "intra_op_threads": threads,
        "texts": len(pool),
        "word_pieces": {"min": min(lengths), "median": statistics.median(lengths),
                        "max": max(lengths)},
        "rounds": rounds,
        "max_abs_diff": diff,
        "ratios": {s: {b: round(statistics.median(v), 3) for b, v in by.items()}
                   for s, by in ratios.items()},
        "ratio_range": {s: {b: [round(min(v), 3), round(max(v), 3)] for b, v in by.items()}
                        for s, by in ratios.items()},
        "best_sentences_per_s": best,
    }
