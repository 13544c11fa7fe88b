"""A numpy forward pass of the same encoder: the oracle the ONNX graph is tested against.

It shares nothing with :mod:`demos.models.convert` but the weight names: it is written
from the BERT equations, in float64, with ``math.erf`` for GELU, gathers positions with
``arange`` (the form the graph must avoid) and masks attention by setting padded keys'
probabilities to exactly zero instead of adding a large negative number. A mistake in
the converter therefore shows up as a disagreement rather than being copied into both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["reference_forward"]

F64 = npt.NDArray[np.float64]
_erf = np.frompyfunc(math.erf, 1, 1)


def reference_forward(
    config: Mapping[str, Any],
    weights: Mapping[str, npt.NDArray[Any]],
    input_ids: npt.ArrayLike,
    attention_mask: npt.ArrayLike,
    token_type_ids: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Run the encoder in numpy; return ``(last_hidden_state, sentence_embedding)``.

    Args:
        config: the BERT ``config.json``.
        weights: float tensors named as in ``model.safetensors``.
        input_ids, attention_mask, token_type_ids: integer ``[batch, seq]`` arrays.

    Returns:
        float32 ``[batch, seq, hidden]`` and float32 ``[batch, hidden]`` (unit rows),
        computed in float64. Slow (seconds for a long batch): for tests only.

    Raises:
        ValueError: when the three inputs are not 2-D arrays of one shape.
    """
    ids, mask, types = (np.asarray(a) for a in (input_ids, attention_mask, token_type_ids))
    if ids.ndim != 2 or mask.shape != ids.shape or types.shape != ids.shape:
        raise ValueError(f"inputs must be three [batch, seq] arrays of one shape, "
                         f"got {ids.shape}, {mask.shape}, {types.shape}")
    w = {name: np.asarray(array, dtype=np.float64) for name, array in weights.items()}
    eps = float(config.get("layer_norm_eps", 1e-12))
    heads = int(config["num_attention_heads"])
    seq = ids.shape[1]

    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.token_type_embeddings.weight"][types]
         + w["embeddings.position_embeddings.weight"][np.arange(seq)][None])
    x = _layer_norm(x, w, "embeddings.LayerNorm", eps)
    keep = mask.astype(bool)[:, None, None, :]  # [b, 1, 1, s]: which keys may be attended
    for i in range(int(config["num_hidden_layers"])):
        x = _layer(x, w, f"encoder.layer.{i}", keep, heads, eps)

    m = mask.astype(np.float64)[:, :, None]
    mean = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    unit = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return x.astype(np.float32), unit.astype(np.float32)


def _linear(x: F64, w: Mapping[str, F64], prefix: str) -> F64:
    return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]


def _layer_norm(x: F64, w: Mapping[str, F64], prefix: str, eps: float) -> F64:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]


def _layer(x: F64, w: Mapping[str, F64], p: str, keep: npt.NDArray[np.bool_], heads: int,
           eps: float) -> F64:
    b, s, hidden = x.shape
    d = hidden // heads

    def split(y: F64) -> F64:  # [b, s, hidden] -> [b, heads, s, d]
        return y.reshape(b, s, heads, d).transpose(0, 2, 1, 3)

    q, k, v = (split(_linear(x, w, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    scores = np.where(keep, scores, -np.inf)
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, hidden)
    x = _layer_norm(_linear(context, w, f"{p}.attention.output.dense") + x, w,
                    f"{p}.attention.output.LayerNorm", eps)
    inner = _linear(x, w, f"{p}.intermediate.dense")
    gelu = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)).astype(np.float64))
    return _layer_norm(_linear(gelu, w, f"{p}.output.dense") + x, w,
                       f"{p}.output.LayerNorm", eps)
