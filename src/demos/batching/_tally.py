"""Bookkeeping for :mod:`demos.batching.perf`: what each model call cost, what a run comes to.

Every way of serving the requests is timed and counted the same way, through the same
model function, so that their throughput, latency and padding can be set side by side.
It lives apart from ``perf.py``, which decides what runs and in what order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["CallCounter", "median_ratios", "one_call", "summarise"]


class CallCounter:
    """Rows, padded and useful tokens over every model call. Thread-safe."""

    def __init__(self) -> None:
        # Guards the four counts: unbatched calls add from many threads at once.
        self._lock = threading.Lock()
        self.calls = self.rows = self.padded = self.useful = 0

    def add(self, mask: np.ndarray) -> None:
        with self._lock:
            self.calls += 1
            self.rows += mask.shape[0]
            self.padded += mask.size
            self.useful += int(mask.sum())


def one_call(encoder: Any, counter: CallCounter | None = None) -> Callable[[list[str]], Any]:
    """A model function that runs ``texts`` in exactly one session call, padded to the
    longest: what a batcher's batch costs when nothing cuts it further."""
    def model_fn(texts: list[str]) -> Any:
        feeds = encoder.feeds(texts)
        if counter is not None:
            counter.add(feeds["attention_mask"])
        return encoder.session.run(["sentence_embedding"], feeds)[0]
    return model_fn


def summarise(latencies_s: Sequence[float], wall_s: float, n: int,
              counter: CallCounter | None = None) -> dict[str, float]:
    """Throughput and latency percentiles of one way's run of ``n`` requests, and, if its
    calls were counted, its rows per call and padded tokens per useful token."""
    ms = np.asarray(latencies_s) * 1000
    out = {"throughput_rps": round(n / wall_s, 1),
           "p50_ms": round(float(np.percentile(ms, 50)), 2),
           "p99_ms": round(float(np.percentile(ms, 99)), 2)}
    if counter is not None and counter.calls:
        out["rows_per_call"] = round(counter.rows / counter.calls, 2)
        out["padded_per_useful"] = round(counter.padded / counter.useful, 3)
    return out


def median_ratios(rounds: Sequence[dict[str, dict[str, float]]]) -> dict[str, float]:
    """Each ratio is the median over rounds of that round's ratio: the two ways it compares
    ran next to each other, so a neighbour's burst of load hits both or neither."""
    out: dict[str, float] = {}
    for way in ("batcher", "first_fix"):
        if way not in rounds[0]:
            continue
        for base in ("offline", "offline_unsorted", "unbatched"):
            if base in rounds[0]:
                out[f"{way}_vs_{base}_throughput"] = round(float(np.median(
                    [r[way]["throughput_rps"] / r[base]["throughput_rps"] for r in rounds])), 3)
        if "unbatched" in rounds[0]:
            out[f"{way}_minus_unbatched_p50_ms"] = round(float(np.median(
                [r[way]["p50_ms"] - r["unbatched"]["p50_ms"] for r in rounds])), 2)
    return out
