"""The model this chapter publishes: a small real ONNX graph served by onnxruntime.

It is built with ``onnx.helper`` (embedding lookup, mean over tokens, a dense layer,
``tanh``) so that creating a session, warming it up and predicting are the real calls a
service makes, but fast enough to repeat hundreds of times in one notebook.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["VOCAB", "Model", "load_model", "model_bytes", "reference_predict", "sample_ids"]

VOCAB = 64
DIM = 16
SEQ = 8


@functools.cache
def _weights(seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((VOCAB, DIM)).astype(np.float32)
    dense = (rng.standard_normal((DIM, DIM)) / np.sqrt(DIM)).astype(np.float32)
    return table, dense


@functools.cache
def model_bytes(seed: int = 0) -> bytes:
    """The serialized ONNX model: input ``input_ids`` int64 [batch, seq] -> ``embedding``."""
    table, dense = _weights(seed)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"], axis=0),
        helper.make_node("ReduceMean", ["tokens"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["pooled", "dense"], ["hidden"]),
        helper.make_node("Tanh", ["hidden"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "publication-tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIM])],
        initializer=[numpy_helper.from_array(table, "table"),
                     numpy_helper.from_array(dense, "dense")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def reference_predict(input_ids: npt.NDArray[np.int64], seed: int = 0) -> npt.NDArray[np.float32]:
    """The same forward pass in numpy: what a correct prediction must equal."""
    table, dense = _weights(seed)
    return np.tanh(table[input_ids].mean(axis=1) @ dense).astype(np.float32)


def sample_ids(batch: int = 2, seed: int = 0) -> npt.NDArray[np.int64]:
    """A deterministic batch of token ids, shape [batch, 8]."""
    return np.random.default_rng(seed).integers(0, VOCAB, size=(batch, SEQ), dtype=np.int64)


class Model:
    """An onnxruntime session plus the one call a request makes.

    Concurrency: ``predict`` is safe from many threads (``InferenceSession.run`` is).
    ``pid`` is the process that created the session: a session is only sound in that one.
    """

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.warm = False
        self.pid = os.getpid()

    def warm_up(self) -> None:
        """Run one batch, as services do before taking traffic (first runs are slow)."""
        self.predict(sample_ids(1))
        self.warm = True

    def predict(self, input_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Embed a batch of token ids: int64 [batch, seq] -> float32 [batch, 16]."""
        (out,) = self.session.run(["embedding"], {"input_ids": input_ids})
        return out


def load_model(seed: int = 0, *, intra_op_threads: int = 1) -> Model:
    """Create a real ``InferenceSession`` for the tiny model (``intra_op_threads`` threads)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model_bytes(seed), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return Model(session)
