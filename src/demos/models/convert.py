"""BERT config + weights → an ONNX sentence encoder, built with ``onnx.helper`` (no torch).

The graph reproduces what sentence-transformers runs for all-MiniLM-L6-v2: BERT
embeddings, N encoder layers, masked mean pooling and L2 normalisation. Choices that
matter for correctness or for onnxruntime:

* positions come from a **Slice** of the position table up to the sequence length. A
  Range→Gather lookup is the obvious form, but onnxruntime 1.32 rejects it under
  extended graph optimisation ("Starts must be a 1-D array").
* the attention mask is **additive**: ``(1 - mask) * finfo(dtype).min`` is added to the
  scores before Softmax, as transformers does, so padded keys get zero weight.
* GELU is the exact ``0.5·x·(1 + erf(x/√2))`` (BERT's ``"gelu"``), not the tanh form.
* pooling divides by ``max(Σ mask, 1e-9)`` and normalising by ``max(‖x‖, 1e-12)``, the
  clamps sentence-transformers and ``torch.nn.functional.normalize`` use (in float16 both
  become float16's smallest normal number, as 1e-9 would flush to zero).

``dtype=np.float16`` stores the weights and types every activation as float16; both
outputs are then Cast back to **float32**, so callers always get float32 arrays and the
precision lost is the graph's, not the caller's. Beware what runs it: onnxruntime 1.32's
CPU provider has float16 kernels for few of these operators, so at session creation it
inserts Casts ("InsertedPrecisionFreeCast_…") and computes most of the graph in float32.
On CPU, the float16 model therefore mostly measures the *weights'* rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["CONVERTER_VERSION", "OPSET", "build_onnx"]

OPSET = 17
#: Part of the cache key: bump it whenever the graph this module builds changes.
CONVERTER_VERSION = "1"

_ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16}


class _Graph:
    """Collects nodes and initializers; every node gets a readable, unique name."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: npt.ArrayLike, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name

    def linear(self, x: str, weights: Mapping[str, Any], prefix: str, out: str) -> str:
        """``x @ W.T + b`` with W stored pre-transposed, as a MatMul and an Add."""
        w = self.const(f"{prefix}.weight_t", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("Add", [self.op("MatMul", [x, w], f"{out}/matmul"), b], out)

    def layer_norm(self, x: str, weights: Mapping[str, Any], prefix: str, eps: float) -> str:
        gamma = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        beta = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, gamma, beta], f"{prefix}/out",
                       axis=-1, epsilon=eps)


def build_onnx(
    config: Mapping[str, Any],
    weights: Mapping[str, npt.NDArray[Any]],
    *,
    dtype: npt.DTypeLike = np.float32,
) -> onnx.ModelProto:
    """Build the sentence-encoder graph for a BERT ``config`` and its ``weights``.

    Args:
        config: a transformers BERT ``config.json`` (hidden_size, num_attention_heads, …).
        weights: tensors named as in ``model.safetensors`` (``embeddings.…``, ``encoder.…``).
        dtype: ``np.float32`` or ``np.float16``: the type of weights and activations.

    Returns:
        A checked opset-17 model. Inputs ``input_ids``, ``attention_mask``,
        ``token_type_ids`` (int64 ``[batch, sequence]``); outputs ``last_hidden_state``
        (float32 ``[batch, sequence, hidden]``) and ``sentence_embedding`` (float32
        ``[batch, hidden]``, unit rows).

    Raises:
        ValueError: for a dtype or a config this converter does not support.
        KeyError: when a weight the config implies is missing.
    """
    dt = np.dtype(dtype)
    if dt not in _ONNX_TYPES:
        raise ValueError(f"dtype must be float32 or float16, got {dt}")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    if hidden % heads:
        raise ValueError(f"hidden_size must be a multiple of num_attention_heads, "
                         f"got {hidden} and {heads}")
    for key, expected in (("hidden_act", "gelu"), ("position_embedding_type", "absolute")):
        if config.get(key, expected) != expected:
            raise ValueError(f"config {key} must be {expected!r}, got {config[key]!r}")
    eps = float(config.get("layer_norm_eps", 1e-12))
    g = _Graph(dt)

    x = _embeddings(g, weights, eps)
    mask = g.op("Cast", ["attention_mask"], "mask/float", to=_ONNX_TYPES[dt])
    one = g.const("one", 1.0)
    inverted = g.op("Sub", [one, mask], "mask/inverted")
    additive = g.op("Mul", [inverted, g.const("mask_min", np.finfo(dt).min)], "mask/additive")
    additive = g.op("Unsqueeze", [additive, g.const("axes_1_2", [1, 2], np.int64)],
                    "mask/additive_b11s")
    for i in range(int(config["num_hidden_layers"])):
        x = _layer(g, weights, f"encoder.layer.{i}", x, additive, hidden, heads, eps)

    hidden_state = g.op("Identity", [x], "hidden")
    pooled = _mean_pool_normalise(g, hidden_state, mask)
    g.op("Cast", [hidden_state], "last_hidden_state", to=TensorProto.FLOAT)
    g.op("Cast", [pooled], "sentence_embedding", to=TensorProto.FLOAT)

    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims)
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [
        helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden]),
        helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden]),
    ]
    graph = helper.make_graph(g.nodes, "bert_sentence_encoder", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="demos.models.convert",
                              producer_version=CONVERTER_VERSION)
    model.ir_version = 8  # what opset 17 was released with; every onnxruntime ≥ 1.13 reads it
    onnx.checker.check_model(model, full_check=True)
    return model


def _embeddings(g: _Graph, weights: Mapping[str, Any], eps: float) -> str:
    table = g.const("word_embeddings", weights["embeddings.word_embeddings.weight"])
    words = g.op("Gather", [table, "input_ids"], "embeddings/words", axis=0)
    types = g.op("Gather", [g.const("token_type_embeddings",
                                    weights["embeddings.token_type_embeddings.weight"]),
                            "token_type_ids"], "embeddings/types", axis=0)
    # Positions 0..seq-1 are the first `seq` rows of the table: a Slice, not Range→Gather.
    seq_len = g.op("Shape", ["input_ids"], "embeddings/seq_len", start=1, end=2)
    table = g.const("position_embeddings", weights["embeddings.position_embeddings.weight"])
    positions = g.op("Slice", [table, g.const("zero_1d", [0], np.int64), seq_len,
                               g.const("axis0_1d", [0], np.int64)], "embeddings/positions")
    summed = g.op("Add", [g.op("Add", [words, types], "embeddings/words_types"), positions],
                  "embeddings/sum")
    return g.layer_norm(summed, weights, "embeddings.LayerNorm", eps)


def _layer(g: _Graph, weights: Mapping[str, Any], p: str, x: str, additive: str,
           hidden: int, heads: int, eps: float) -> str:
    head_dim = hidden // heads
    split = g.const(f"{p}/split_shape", [0, 0, heads, head_dim], np.int64)

    def project(kind: str, perm: list[int]) -> str:
        y = g.linear(x, weights, f"{p}.attention.self.{kind}", f"{p}/{kind}")
        y = g.op("Reshape", [y, split], f"{p}/{kind}/heads")
        return g.op("Transpose", [y], f"{p}/{kind}/transposed", perm=perm)

    q = project("query", [0, 2, 1, 3])   # [b, h, s, d]
    k = project("key", [0, 2, 3, 1])     # [b, h, d, s]
    v = project("value", [0, 2, 1, 3])   # [b, h, s, d]
    scores = g.op("MatMul", [q, k], f"{p}/scores")
    scores = g.op("Mul", [scores, g.const(f"{p}/scale", 1.0 / math.sqrt(head_dim))],
                  f"{p}/scores_scaled")
    scores = g.op("Add", [scores, additive], f"{p}/scores_masked")
    probs = g.op("Softmax", [scores], f"{p}/probs", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, v], f"{p}/context")],
                   f"{p}/context/transposed", perm=[0, 2, 1, 3])
    context = g.op("Reshape", [context, g.const(f"{p}/merge_shape", [0, 0, hidden], np.int64)],
                   f"{p}/context/merged")
    attn = g.linear(context, weights, f"{p}.attention.output.dense", f"{p}/attention_out")
    x = g.layer_norm(g.op("Add", [attn, x], f"{p}/attention_residual"), weights,
                     f"{p}.attention.output.LayerNorm", eps)

    inner = g.linear(x, weights, f"{p}.intermediate.dense", f"{p}/intermediate")
    erf = g.op("Erf", [g.op("Div", [inner, g.const(f"{p}/sqrt2", math.sqrt(2.0))],
                            f"{p}/gelu/scaled")], f"{p}/gelu/erf")
    gelu = g.op("Mul", [g.op("Mul", [inner, g.const(f"{p}/half", 0.5)], f"{p}/gelu/half_x"),
                        g.op("Add", [erf, g.const(f"{p}/one", 1.0)], f"{p}/gelu/one_plus")],
                f"{p}/gelu/out")
    out = g.linear(gelu, weights, f"{p}.output.dense", f"{p}/output")
    return g.layer_norm(g.op("Add", [out, x], f"{p}/output_residual"), weights,
                        f"{p}.output.LayerNorm", eps)


def _mean_pool_normalise(g: _Graph, x: str, mask: str) -> str:
    """Mean of the unmasked token vectors, then divided by its L2 norm."""
    axis1 = g.const("axis1_1d", [1], np.int64)
    mask3 = g.op("Unsqueeze", [mask, g.const("axis2_1d", [2], np.int64)], "pool/mask_bs1")
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask3], "pool/masked"), axis1], "pool/sum",
                  keepdims=0)
    count = g.op("ReduceSum", [mask3, axis1], "pool/count", keepdims=0)
    count = g.op("Max", [count, g.const("pool/min_count", _clamp(1e-9, g.dtype))],
                 "pool/count_clamped")
    mean = g.op("Div", [summed, count], "pool/mean")
    norm = g.op("ReduceL2", [mean], "norm/l2", axes=[1], keepdims=1)  # axes: attribute until 18
    norm = g.op("Max", [norm, g.const("norm/eps", _clamp(1e-12, g.dtype))], "norm/clamped")
    return g.op("Div", [mean, norm], "norm/out")


def _clamp(value: float, dtype: np.dtype[Any]) -> float:
    """``value``, or the smallest normal number of ``dtype`` if it would flush to zero."""
    return max(value, float(np.finfo(dtype).tiny))
