"""The requests a scenario sends, and what each one should get back.

Every text is distinct, so a request that reads another request's tokens gets a different
embedding. In every batch the longest text has the same length, so all batches pad to the
same shape, but thread t's padding pattern is shifted by t: a request that pools with
another thread's attention mask gets a different answer instead of a shape error.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from demos.models import Encoder

__all__ = ["WORDS", "reference_embeddings", "requests"]

#: Common English words that are one word piece each, so text lengths are exact.
WORDS = (
    "the", "cat", "dog", "sat", "on", "mat", "red", "blue", "green", "house", "car", "tree",
    "river", "city", "book", "music", "water", "light", "night", "day", "small", "large",
    "fast", "slow", "happy", "old", "new", "good", "bad", "cold", "warm", "rain", "snow",
)


def requests(threads: int, calls: int, batch: int, seed: int = 0) -> list[list[list[str]]]:
    """``[thread][call]`` batches of distinct texts; thread t's padding pattern is shifted."""
    rng = np.random.default_rng(seed)
    longest, seen = 6 + batch, set()
    out: list[list[list[str]]] = []
    for t in range(threads):
        out.append([])
        for _ in range(calls):
            texts = []
            for j in range(batch):
                while (text := " ".join(rng.choice(WORDS, longest - (t + j) % batch))) in seen:
                    pass
                seen.add(text)
                texts.append(text)
            out[t].append(texts)
    return out


# Guards _references: (encoder, reference) by encoder identity and knobs; the encoder is kept
# so that its id cannot be reused while the entry lives.
_references_lock = threading.Lock()
_references: dict[tuple[int, int, int, int, int], tuple[Encoder, list[list[Any]]]] = {}


def reference_embeddings(encoder: Encoder, batches: list[list[list[str]]],
                         knobs: tuple[int, ...]) -> Any:
    """Each batch embedded alone, in one thread, straight from the session.

    Cached by encoder and ``knobs`` (the arguments that made ``batches``).
    """
    key = (id(encoder), *knobs)
    with _references_lock:
        if key in _references:
            return _references[key][1]
    reference = [[encoder.session.run(["sentence_embedding"], encoder.feeds(b))[0]
                  for b in per_thread] for per_thread in batches]
    with _references_lock:
        if len(_references) >= 64:
            _references.pop(next(iter(_references)))
        _references[key] = (encoder, reference)
    return reference
