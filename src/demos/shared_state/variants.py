"""Other shapes of the same mistake, each one change away from :class:`.fixed.Model`.

* :class:`SharedOutput` copies each result into one preallocated output buffer and returns
  a view of it: results alias each other even in one thread (``a is b`` for the data).
* :class:`LastInput` keeps the request on ``self`` ("for debugging") and reads it back
  after the model call to pool the token vectors: other requests' masks leak in.
* :class:`Locked` is :class:`.broken.Model` behind one lock: results are right again and
  the server is single-threaded.

:data:`IMPLS` wraps each as a module-like namespace that :func:`.scenario.run` accepts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from demos.models import Encoder
from demos.shared_state import broken, fixed
from demos.shared_state.fixed import Array, Stats

__all__ = ["IMPLS", "LastInput", "Locked", "SharedOutput"]


class SharedOutput(fixed.Model):
    """Returns views of one output buffer. NOT safe, not even in one thread."""

    def __init__(self, encoder: Encoder, max_batch: int = 32) -> None:
        super().__init__(encoder, max_batch)
        self._out = np.zeros((max_batch, encoder.dim), dtype=np.float32)

    def predict(self, texts: Sequence[str]) -> Array:
        result = super().predict(texts)
        self._out[: len(result)] = result
        return self._out[: len(result)]  # PITFALL: the caller gets a view of a shared buffer


class LastInput(fixed.Model):
    """Keeps the last request on ``self`` and reads it back after the call. NOT safe."""

    last_input: dict[str, np.ndarray] | None = None

    def predict(self, texts: Sequence[str]) -> Array:
        self.last_input = self._encoder.feeds(texts)  # PITFALL: per-request data on self
        (hidden,) = self._session.run(["last_hidden_state"], self.last_input)
        mask = self.last_input["attention_mask"][..., None].astype(np.float32)  # PITFALL
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        with self._stats_lock:
            s = self._stats
            self._stats = Stats(s.calls + 1, s.texts + len(pooled), s.model_s)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class Locked(broken.Model):
    """:class:`.broken.Model` with a lock around ``predict``: correct, and serialised."""

    def __init__(self, encoder: Encoder, max_batch: int = 32) -> None:
        super().__init__(encoder, max_batch)
        self._lock = threading.Lock()  # guards everything, the model call included

    def predict(self, texts: Sequence[str]) -> Array:
        with self._lock:  # PITFALL: held across session.run: one request at a time
            return super().predict(texts)


def _impl(name: str, model: type) -> SimpleNamespace:
    return SimpleNamespace(__name__=f"demos.shared_state.{name}", NAME=name, Model=model,
                           Stats=Stats)


#: The variants as implementations for :func:`.scenario.run`, by name.
IMPLS = {
    "shared output": _impl("shared output", SharedOutput),
    "last input": _impl("last input", LastInput),
    "locked": _impl("locked", Locked),
}
