"""A model wrapper with hidden shared state: a reused scratch buffer, a read–call–write counter.

Both look like good engineering in a single thread: the buffer saves three allocations per
request, and the statistics are an immutable snapshot replaced after each call. Under two
threads, requests read each other's token ids and updates to the snapshot are lost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from demos.models import Encoder

__all__ = ["Model", "Stats"]

Array = npt.NDArray[np.float32]
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


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
        max_batch: the most texts one ``predict`` call may carry.

    Concurrency: NOT safe to call from several threads: the scratch buffer and the
    statistics are shared by every call (see the ``PITFALL`` lines).
    """

    def __init__(self, encoder: Encoder, max_batch: int = 32) -> None:
        self._encoder = encoder
        self._session = encoder.session
        self.max_batch = max_batch
        size = max_batch * encoder.max_seq_length
        # PITFALL: one scratch buffer per model, reused by every call "to save allocations"
        self._scratch = {name: np.zeros(size, dtype=np.int64) for name in INPUT_NAMES}
        self._stats = Stats()

    def predict(self, texts: Sequence[str]) -> Array:
        """Embed ``texts``: float32 ``[len(texts), dim]``, one row per text."""
        encodings = self._encoder.tokenizer.encode_batch(list(texts))
        n, seq = len(encodings), len(encodings[0].ids)
        # PITFALL: views of the shared buffer; another call may refill it before run() reads
        feeds = {name: self._scratch[name][: n * seq].reshape(n, seq) for name in INPUT_NAMES}
        for i, encoding in enumerate(encodings):
            feeds["input_ids"][i] = encoding.ids
            feeds["attention_mask"][i] = encoding.attention_mask
            feeds["token_type_ids"][i] = encoding.type_ids
        before = self._stats  # PITFALL: read before the model call...
        start = time.perf_counter()
        (embeddings,) = self._session.run(["sentence_embedding"], feeds)
        elapsed = time.perf_counter() - start
        # PITFALL: ...written back after it: every update made meanwhile is lost
        self._stats = Stats(before.calls + 1, before.texts + n, before.model_s + elapsed)
        return embeddings

    def stats(self) -> Stats:
        """A snapshot of the statistics so far."""
        return self._stats
