"""A stateless model wrapper: per-call buffers, statistics updated outside the model call.

The session and the tokenizer are immutable and shared; everything a request writes belongs
to that request. The one piece of shared mutable state, the statistics, is updated under a
lock that is never held while the model runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from demos.models import Encoder

__all__ = ["Model", "Stats"]

Array = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Stats:
    """What a Model has served: ``predict`` calls, texts embedded, seconds in the model."""

    calls: int = 0
    texts: int = 0
    model_s: float = 0.0


class Model:
    """Texts in, sentence embeddings out, with serving statistics.

    Args:
        encoder: the tokenizer and the onnxruntime session to run.
        max_batch: the most texts one ``predict`` call may carry (>= 1).

    Raises:
        ValueError: if ``max_batch`` is not an int >= 1.

    Concurrency: safe from any number of threads at once. ``predict`` takes no lock while
    the model runs (onnxruntime's ``run`` is thread-safe and releases the GIL), so requests
    overlap; it blocks for tokenization plus one model call. ``stats`` never blocks on the
    model.
    """

    def __init__(self, encoder: Encoder, max_batch: int = 32) -> None:
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be an int >= 1, got {max_batch!r}")
        self._encoder = encoder
        self._session = encoder.session
        self.max_batch = max_batch
        # FIX: guards _stats only; never held while the model runs
        self._stats_lock = threading.Lock()
        self._stats = Stats()

    def predict(self, texts: Sequence[str]) -> Array:
        """Embed ``texts``: float32 ``[len(texts), dim]``, one row per text.

        Raises:
            TypeError: if ``texts`` is a bare string or holds a non-string.
            ValueError: if ``texts`` is empty or holds more than ``max_batch`` texts.
        """
        feeds = self._encoder.feeds(texts)  # FIX: fresh arrays, owned by this call
        n = len(feeds["input_ids"])
        if n > self.max_batch:
            raise ValueError(f"texts must hold at most max_batch={self.max_batch} texts, got {n}")
        start = time.perf_counter()
        (embeddings,) = self._session.run(["sentence_embedding"], feeds)
        elapsed = time.perf_counter() - start
        with self._stats_lock:  # FIX: read and write the statistics as one step, after run()
            before = self._stats
            self._stats = Stats(before.calls + 1, before.texts + n, before.model_s + elapsed)
        return embeddings

    def stats(self) -> Stats:
        """A snapshot of the statistics so far."""
        with self._stats_lock:
            return self._stats
