"""The model side both services share: loading the encoder, running token ids, the gates.

The lessons (where the model is loaded, how it is called, how truncation is applied) live
in ``broken.py`` and ``fixed.py``; this module only holds the plumbing both need.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from demos.models import UPSTREAM_MODEL, Encoder, load_encoder, tiny_encoder
from demos.models.tiny import TINY_CONFIG
from demos.service.settings import Settings

__all__ = ["aliases", "dimensions", "held", "hold", "load", "model_id", "run_ids",
           "wait_for_file"]


def model_id(settings: Settings) -> str:
    """The id ``/v1/models`` lists and ``/v1/embeddings`` answers with."""
    return "all-MiniLM-L6-v2" if settings.model == "real" else "tiny-bert"


def aliases(settings: Settings) -> frozenset[str]:
    """The ``model`` values a request may name: the id, and the upstream name for the real one."""
    extra = {UPSTREAM_MODEL} if settings.model == "real" else set()
    return frozenset({model_id(settings), *extra})


def dimensions(settings: Settings) -> int:
    """The embedding width the model answers with (known before it loads)."""
    return 384 if settings.model == "real" else int(TINY_CONFIG["hidden_size"])  # type: ignore[call-overload]


def load(settings: Settings) -> Encoder:
    """The encoder ``settings`` names, with its onnxruntime threads (blocks ~1–3 s)."""
    if settings.model == "tiny":
        return tiny_encoder(intra_op_threads=settings.intra_op_threads)
    return load_encoder(intra_op_threads=settings.intra_op_threads)


def run_ids(encoder: Encoder, rows: Sequence[Sequence[int]],
            fault: str = "") -> npt.NDArray[np.float32]:
    """Embed already-tokenized rows (special tokens included): one call, padded to the longest.

    ``fault``: a planted fault for tests (``Settings.fault_text``): a batch holding a row
    that decodes to it raises RuntimeError, as a model that fails on one input would.

    Concurrency: safe from any thread (``InferenceSession.run`` is); blocks for the call.
    """
    if fault and any(encoder.tokenizer.decode(row) == fault for row in rows):
        raise RuntimeError(f"planted fault: a batch holding {fault!r}")
    width = max(len(row) for row in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return encoder.session.run(["sentence_embedding"], feeds)[0]


_held = 0
_held_lock = threading.Lock()


def held() -> int:
    """Requests waiting at the request gate now (a gauge of ``/metrics``)."""
    return _held


def wait_for_file(path: str, bound_s: float) -> None:
    """Block until ``path`` exists, at most ``bound_s`` seconds (then TimeoutError)."""
    deadline = time.monotonic() + bound_s
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate file {path!r} did not appear within {bound_s} s")
        time.sleep(0.005)


def hold(settings: Settings) -> None:
    """The request gate: wait for ``settings.request_gate`` to exist (no-op when unset).

    It stands where a real request reads the rest of its body, so a test can hold requests
    there by construction, then release them all at once by creating the file.
    """
    global _held
    if not settings.request_gate:
        return
    with _held_lock:
        _held += 1
    try:
        wait_for_file(settings.request_gate, settings.gate_bound_s)
    finally:
        with _held_lock:
            _held -= 1
