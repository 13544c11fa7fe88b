"""The Encoder: tokenizer + onnxruntime session, configured once, safe to share.

This is the "right way" the chapters contrast their pitfalls with:

* the tokenizer is configured **once**, here, from the shipped ``tokenizer.json`` —
  which says truncation 128 and fixed padding 128. sentence-transformers uses this model
  with ``max_seq_length`` 256 and pads each batch to its longest text, so we replace
  both settings explicitly. Left alone, every text would be cut at 128 pieces and padded
  to 128 (chapter 6 tells that story). After construction it is never reconfigured, so
  threads can share it.
* one ``InferenceSession`` serves every thread (``run`` is thread-safe); the Encoder has
  no mutable state, so ``encode`` needs no lock.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from demos.models.cache import cache_dir, load_or_build
from demos.models.convert import CONVERTER_VERSION, build_onnx
from demos.models.padding import CALL_TOKENS, token_batches
from demos.models.source import model_files

# CALL_TOKENS and token_batches live in demos.models.padding and stay part of this
# module's API: chapter 3 and its readers import them from here.
__all__ = [
    "CALL_TOKENS",
    "Encoder",
    "encoder_from_weights",
    "load_encoder",
    "make_session",
    "make_tokenizer",
    "token_batches",
]

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def make_tokenizer(tokenizer_json: str, max_length: int) -> Tokenizer:
    """A tokenizer that truncates at ``max_length`` and pads each batch to its longest text.

    The pad id, token and type id are taken from the shipped configuration (0, ``[PAD]``,
    0); only the *strategy* changes: fixed 128 becomes pad-to-longest.
    """
    tokenizer = Tokenizer.from_str(tokenizer_json)
    shipped = json.loads(tokenizer_json).get("padding") or {}
    tokenizer.enable_truncation(max_length=max_length, stride=0, strategy="longest_first")
    tokenizer.enable_padding(
        direction="right",
        pad_id=int(shipped.get("pad_id", 0)),
        pad_type_id=int(shipped.get("pad_type_id", 0)),
        pad_token=str(shipped.get("pad_token", "[PAD]")),
        length=None,  # None: pad to the longest text of each call
    )
    return tokenizer


def make_session(model: bytes, intra_op_threads: int | None = None, *,
                 allow_spinning: bool = False) -> ort.InferenceSession:
    """An onnxruntime CPU session with its threading chosen on purpose.

    * ``intra_op_num_threads`` defaults to the CPUs this process may run on
      (``os.sched_getaffinity``), not onnxruntime's default of the machine's physical
      cores, which over-subscribes a container or CI runner limited to fewer.
    * ``session.intra_op.allow_spinning`` is off by default (``allow_spinning=False``), a
      trade-off: with spinning on, the pool's threads busy-wait after every operator for
      the next one instead of sleeping. A caller alone on cores nobody else wants saves
      the wake-ups; callers that share the cores, with each other or with other
      processes, lose the cycles the spinning threads burn. The book's encoder serves many
      threads (chapters 3 and 4) on small shared machines, so its threads sleep; a process
      that makes one call at a time on cores of its own can pass ``allow_spinning=True``.
      Which way wins on a given machine and load is measured, not assumed:
      ``python -m demos bench encoder --spinning`` times ``session.run`` alone both ways
      for 1, 4 and 8 calling threads, in paired rounds (:mod:`demos.models.spinning`).
    * sequential execution (no inter-op pool): a BERT graph is a chain; nothing to overlap.
    * log level "error": the book shows its own diagnostics, not onnxruntime's warnings.
    """
    threads = _available_cpus() if intra_op_threads is None else intra_op_threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"intra_op_threads must be an int >= 1 or None, got {threads!r}")
    if not isinstance(allow_spinning, bool):
        raise TypeError(f"allow_spinning must be a bool, got {type(allow_spinning).__name__}")
    spin = "1" if allow_spinning else "0"
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, eq=False)
class Encoder:
    """Texts in, unit-length sentence embeddings out.

    Attributes:
        tokenizer: configured once (truncation ``max_seq_length``, pad to longest).
        session: the onnxruntime session (see :func:`make_session`).
        model_path: the cached ``.onnx`` file the session was loaded from.
        max_seq_length: word pieces per text, [CLS] and [SEP] included (256).
        tokenizer_json: ``tokenizer.json`` as shipped, evidence for chapter 6.
        dtype: ``"float32"`` or ``"float16"``: the graph's weights and arithmetic.
        name: what this encoder is, for reports.

    Concurrency: immutable; ``feeds`` and ``encode`` are safe from any number of threads
    at once and take no lock. They block for the model call only.
    """

    tokenizer: Tokenizer
    session: ort.InferenceSession
    model_path: Path
    max_seq_length: int
    tokenizer_json: str
    dtype: str = "float32"
    name: str = "all-MiniLM-L6-v2"

    @property
    def dim(self) -> int:
        """Embedding width, read from the graph's ``sentence_embedding`` output (384)."""
        return int(self.session.get_outputs()[1].shape[-1])

    @property
    def contract(self) -> list[dict[str, Any]]:
        """The session's inputs and outputs: kind, name, element type, shape."""
        rows = [("input", x) for x in self.session.get_inputs()]
        rows += [("output", x) for x in self.session.get_outputs()]
        return [{"kind": kind, "name": x.name, "type": x.type, "shape": list(x.shape)}
                for kind, x in rows]

    def feeds(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
        """Tokenize ``texts`` into the session's three int64 ``[batch, seq]`` inputs.

        Raises:
            TypeError: if ``texts`` is a bare string or holds a non-string.
            ValueError: if ``texts`` is empty.
        """
        batch = _check_texts(texts)
        encodings = self.tokenizer.encode_batch(batch)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text after truncation, [CLS] and [SEP] included (1 to 256)."""
        return [sum(e.attention_mask) for e in self.tokenizer.encode_batch(_check_texts(texts))]

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, *, max_batch_tokens: int | None = None
    ) -> npt.NDArray[np.float32]:
        """Embed ``texts``: float32 ``[len(texts), dim]``, one unit-length row per text.

        Texts are tokenized once, then grouped by token length into batches of at most
        ``batch_size`` texts and ``max_batch_tokens`` padded tokens (rows × longest row;
        default ``batch_size × 64``), cut where a longer text would pad the shorter ones
        more than another call costs (:func:`token_batches`). sentence-transformers only
        sorts and cuts every ``batch_size`` texts, so one long text pads up to 31 short
        ones. Rows come back in the input order.

        Raises:
            TypeError: if ``texts`` is a bare string or holds a non-string, or
                ``batch_size`` is not an int.
            ValueError: if ``texts`` is empty, ``batch_size < 1`` or
                ``max_batch_tokens < 1``.
        """
        batch = _check_texts(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        budget = batch_size * 64 if max_batch_tokens is None else max_batch_tokens
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"max_batch_tokens must be an int >= 1 or None, got {budget!r}")
        encodings = self.tokenizer.encode_batch(batch)  # padded to the longest of all
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        lengths = mask.sum(axis=1)
        out = np.empty((len(batch), self.dim), dtype=np.float32)
        for rows in token_batches(lengths.tolist(), max_batch=batch_size, max_tokens=budget):
            width = int(lengths[rows].max())  # pad to this batch's longest, not to all
            feeds = {"input_ids": ids[rows, :width], "attention_mask": mask[rows, :width],
                     "token_type_ids": types[rows, :width]}
            out[rows] = self.session.run(["sentence_embedding"], feeds)[0]
        return out

    def __repr__(self) -> str:
        return (f"Encoder({self.name!r}, dtype={self.dtype!r}, dim={self.dim}, "
                f"max_seq_length={self.max_seq_length}, model_path='{self.model_path}')")


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"texts must be a list of str, got a bare {type(texts).__name__}; "
                        f"wrap one text in a list: [text]")
    try:
        batch = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}") from None
    if not batch:
        raise ValueError("texts must hold at least one text, got an empty list")
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be str, got {type(text).__name__}")
    return batch


def encoder_from_weights(
    *,
    name: str,
    config: dict[str, Any],
    weights: dict[str, npt.NDArray[Any]],
    weights_sha256: str,
    tokenizer_json: str,
    max_seq_length: int,
    dtype: str = "float32",
    intra_op_threads: int | None = None,
) -> Encoder:
    """Convert (or reuse the cached conversion of) ``weights`` and wrap it as an Encoder.

    The cache file name holds the weights' hash, the dtype and the converter version, so
    any change to one of them builds a new file instead of reusing a stale one.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    file = f"{name}-{weights_sha256[:16]}-{dtype}-c{CONVERTER_VERSION}.onnx"
    cached = load_or_build(
        file, lambda: build_onnx(config, weights, dtype=np.dtype(dtype)).SerializeToString()
    )
    return Encoder(
        tokenizer=make_tokenizer(tokenizer_json, max_seq_length),
        session=make_session(cached.data, intra_op_threads),
        model_path=cached.path,
        max_seq_length=max_seq_length,
        tokenizer_json=tokenizer_json,
        dtype=dtype,
        name=name,
    )


# Guards _encoders: one Encoder per (dtype, threads, cache folder) per process. Held
# during the build, so two threads asking at once get the same, fully built Encoder.
_lock = threading.Lock()
_encoders: dict[tuple[str, int | None, Path], Encoder] = {}


def load_encoder(dtype: str = "float32", *, intra_op_threads: int | None = None) -> Encoder:
    """The real all-MiniLM-L6-v2 encoder, converted on first use and cached on disk.

    Args:
        dtype: ``"float32"`` (matches sentence-transformers) or ``"float16"`` (weights and
            graph typed float16; outputs still float32, via a final Cast). On CPU,
            onnxruntime upcasts most float16 operators to float32 (see
            :mod:`demos.models.convert`), so the difference is mostly weight rounding.
        intra_op_threads: onnxruntime threads per call; None = CPUs available.

    Raises:
        ModelNotInstalledError: naming the command that installs the model wheel.
        ValueError: for an unknown dtype or a bad thread count.

    Concurrency: safe from any thread. The first call per process blocks for ~1–3 s
    (reading the zip, plus converting if the disk cache is cold); later calls return the
    same Encoder at once.
    """
    key = (dtype, intra_op_threads, cache_dir())
    with _lock:
        if key not in _encoders:
            files = model_files()
            _encoders[key] = encoder_from_weights(
                name="all-MiniLM-L6-v2", config=files.config, weights=files.weights,
                weights_sha256=files.weights_sha256, tokenizer_json=files.tokenizer_json,
                max_seq_length=files.max_seq_length, dtype=dtype,
                intra_op_threads=intra_op_threads,
            )
        return _encoders[key]
