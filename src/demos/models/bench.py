"""Encoder throughput, measured the same way by the notebook, the CLI and the report.

``python -m demos bench encoder`` prints :func:`bench`'s dict as JSON.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import onnxruntime as ort

from demos.models.encoder import Encoder, load_encoder

__all__ = ["BENCH_TEXTS", "bench"]

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
