"""Three small graphs built with ``onnx.helper``, each with one contract trap in it.

* :func:`temperature_classifier`: ``probs = softmax(logits / temperature)`` where
  ``temperature`` is an *overridable initializer*: a graph input that also has a default
  value inside the model. Leave it out of the feed and onnxruntime silently uses 1.0.
* :func:`span_head`: a question-answering head whose two outputs, ``start_logits`` and
  ``end_logits``, have the same shape, so unpacking them in the wrong order is silent.
  Its input has a static last dimension (4).
* :func:`pair_scorer`: two inputs that share the dynamic dimensions ``batch`` and ``n``;
  feeds that disagree on them can broadcast instead of failing.

Each returns a checked :class:`onnx.ModelProto`; :func:`session` opens any model on the CPU.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["SPAN_WEIGHTS", "pair_scorer", "session", "span_head", "temperature_classifier"]

#: The span head's projection: column 0 scores span starts, column 1 span ends.
SPAN_WEIGHTS = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]], np.float32)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="demos.input_contract.graphs")
    model.ir_version = 8  # IR >= 4: an initializer that is also an input is overridable
    onnx.checker.check_model(model, full_check=True)
    return model


def temperature_classifier(default_temperature: float = 1.0) -> onnx.ModelProto:
    """``logits`` float32 [batch, 3] → ``probs``; ``temperature`` defaults to 1.0."""
    graph = helper.make_graph(
        [helper.make_node("Div", ["logits", "temperature"], ["scaled"], name="scale"),
         helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1)],
        "temperature_classifier",
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("temperature", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(np.array(default_temperature, np.float32), "temperature")],
    )
    return _model(graph)


def span_head() -> onnx.ModelProto:
    """``hidden`` float32 [batch, sequence, 4] → ``start_logits``, ``end_logits``, same shape."""
    nodes = [
        helper.make_node("MatMul", ["hidden", "span_weights"], ["logits"], name="project"),
        helper.make_node("Split", ["logits", "split_sizes"], ["start3", "end3"], name="split",
                         axis=-1),
        helper.make_node("Squeeze", ["start3", "last_axis"], ["start_logits"], name="start"),
        helper.make_node("Squeeze", ["end3", "last_axis"], ["end_logits"], name="end"),
    ]
    graph = helper.make_graph(
        nodes, "span_head",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "sequence", 4])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "sequence"])
         for n in ("start_logits", "end_logits")],
        [numpy_helper.from_array(SPAN_WEIGHTS, "span_weights"),
         numpy_helper.from_array(np.array([1, 1], np.int64), "split_sizes"),
         numpy_helper.from_array(np.array([-1], np.int64), "last_axis")],
    )
    return _model(graph)


def pair_scorer() -> onnx.ModelProto:
    """``query``, ``key`` float32 [batch, n] → ``score`` [batch]: the dot product of each row."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["query", "key"], ["product"], name="product"),
         helper.make_node("ReduceSum", ["product", "last_axis"], ["score"], name="score",
                          keepdims=0)],
        "pair_scorer",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "n"])
         for n in ("query", "key")],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"])],
        [numpy_helper.from_array(np.array([-1], np.int64), "last_axis")],
    )
    return _model(graph)


def session(model: onnx.ModelProto, *, log_severity: int = 3) -> ort.InferenceSession:
    """An onnxruntime CPU session for ``model`` (``log_severity`` 3: errors only)."""
    options = ort.SessionOptions()
    options.log_severity_level = log_severity
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
