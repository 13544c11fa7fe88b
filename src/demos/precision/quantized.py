"""The running example in int8: all-MiniLM-L6-v2 through ``quantize_dynamic``, cached on disk.

Dynamic quantization stores every MatMul weight as int8 (one scale per matrix, or per
output channel), and quantizes each activation to uint8 at run time, per call, from its
own range. Nothing ships in int8: this module quantizes the book's float32 conversion (from
:mod:`demos.models`) with an implementation's ``quantize_int8`` once, and caches the result
beside the float32 file, keyed like it (the weights' hash, the converter version) plus the
implementation's name, a hash of its ``quantize_int8`` source and the onnxruntime version
that quantized it, so a changed quantizer builds a new file instead of reusing a stale one
(a quantizer without Python source is refused: there would be nothing to key it by).
"""

from __future__ import annotations

import hashlib
import inspect
import tempfile
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort

from demos import knobs
from demos.models.cache import CachedFile, cache_dir, load_or_build
from demos.models.convert import CONVERTER_VERSION
from demos.models.encoder import Encoder, load_encoder, make_session, make_tokenizer
from demos.models.source import model_files

__all__ = ["code_key", "int8_file_name", "load_int8_encoder", "quantize_bytes", "quantized_ops",
           "was_built_in_this_process", "weight_rounding"]


def int8_file_name(name: str, weights_sha256: str, variant: str, code: str) -> str:
    """The int8 model's cache file name: the float32 file's key plus the quantizer."""
    return (f"{name}-{weights_sha256[:16]}-int8-{variant}-{code}-c{CONVERTER_VERSION}"
            f"-ort{ort.__version__}.onnx")


def code_key(quantize: object) -> str | None:
    """A short hash of ``quantize``'s source and :func:`quantize_bytes`'; None without source."""
    try:
        text = inspect.getsource(quantize) + inspect.getsource(quantize_bytes)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def quantize_bytes(model: bytes, *, per_channel: bool) -> bytes:
    """``quantize_dynamic`` with int8 weights, bytes in and out (work files in a temp folder)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="precision-int8-") as folder:
        source, target = Path(folder) / "float32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # it logs "consider pre-processing" on the root logger
        try:
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=per_channel)
        finally:
            root.setLevel(level)
        return target.read_bytes()


# Guards _encoders: one int8 Encoder per (implementation, threads, cache folder) per process.
# Held during the quantization, so two threads asking at once get the same Encoder.
_lock = threading.Lock()
_encoders: dict[tuple[str, int | None, Path], tuple[Encoder, CachedFile]] = {}


def load_int8_encoder(impl: ModuleType, *, intra_op_threads: int | None = None) -> Encoder:
    """The real MiniLM quantized by ``impl.quantize_int8``, on first use; then from the cache.

    Args:
        impl: a module (or namespace) with ``quantize_int8(model: bytes) -> bytes``; its
            name (:func:`demos.knobs.impl_name`) and a hash of that function's source are
            part of the cache key.
        intra_op_threads: onnxruntime threads per call; None = CPUs available.

    Raises:
        TypeError: ``impl.quantize_int8`` has no Python source (a builtin, a C function).

    Concurrency: safe from any thread; the first call per implementation and cache folder
    blocks for the quantization (a few seconds), later calls return the same Encoder.
    """
    return _load(impl, intra_op_threads)[0]


def was_built_in_this_process() -> bool:
    """True if this process had to quantize (the cache was cold); for the notebook's note."""
    return any(cached.built for _, cached in _encoders.values())


def _load(impl: ModuleType, intra_op_threads: int | None) -> tuple[Encoder, CachedFile]:
    variant = knobs.impl_name(impl)
    key = (variant, intra_op_threads, cache_dir())
    with _lock:
        if key not in _encoders:
            files = model_files()
            reference = load_encoder(intra_op_threads=intra_op_threads)
            code = code_key(impl.quantize_int8)
            if code is None:
                raise TypeError(f"impl.quantize_int8 must be a function with Python source (its "
                                f"source is part of the cache key), got {impl.quantize_int8!r}")
            cached = load_or_build(
                int8_file_name(reference.name, files.weights_sha256, variant, code),
                lambda: impl.quantize_int8(reference.model_path.read_bytes()),
            )
            encoder = Encoder(
                tokenizer=make_tokenizer(files.tokenizer_json, files.max_seq_length),
                session=make_session(cached.data, intra_op_threads),
                model_path=cached.path,
                max_seq_length=files.max_seq_length,
                tokenizer_json=files.tokenizer_json,
                dtype=f"int8 ({variant})",
                name=reference.name,
            )
            _encoders[key] = (encoder, cached)
        return _encoders[key]


def quantized_ops(encoder: Encoder) -> dict[str, int]:
    """How many nodes of each type the int8 model file has (MatMulInteger, DynamicQuantize…)."""
    counts: dict[str, int] = {}
    for node in onnx.load_from_string(encoder.model_path.read_bytes()).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def weight_rounding(weights: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Per MatMul weight matrix: the relative error of symmetric int8 rounding, two ways.

    Returns ``name -> (per_tensor, per_channel)``, each ``‖w - dequant(quant(w))‖ / ‖w‖``:
    one scale ``max|w| / 127`` for the whole matrix, or one per output channel (row).
    """
    found = {}
    for name, w in weights.items():
        if w.ndim != 2 or "embeddings" in name or "pooler" in name:  # not in the graph
            continue
        w = w.astype(np.float64)
        norm = float(np.linalg.norm(w))
        tensor = np.abs(w).max() / 127
        channel = np.abs(w).max(axis=1, keepdims=True) / 127
        found[name] = tuple(float(np.linalg.norm(w - np.rint(w / s) * s)) / norm
                            for s in (tensor, channel))
    return found
