"""Three small graphs built with ``onnx.helper``, each with one contract trap in it.

* :func:`temperature_classifier`: ``probs = softmax(logits / temperature)`` where
  ``temperature`` is an *overridable initializer*: a graph input that also has a default
  value inside the model. Leave it out of the feed and onnxruntime silently uses 1.0.
* :func:`span_head`: a question-answering head whose two outputs, ``start_logits`` and
  ``end_logits``, have the same shape, so unpacking them in the wrong order is silent.
  Its input has a static last dimension (4).
* :func:`pair_scorer`: two inputs that share the dynamic dimensions ``batch`` and ``n``;
  feeds that disagree on them can broadcast instead of failing.
* :func:`needs_extension`: a text-cleaning graph whose one operator lives in the
  ``ai.onnx.contrib`` domain (onnxruntime-extensions), which plain onnxruntime lacks.

:func:`stamped` gives a copy of any model that claims a newer IR version or opset, as a file
written by a newer exporter would.

Each returns a checked :class:`onnx.ModelProto`; :func:`session` opens any model on the CPU.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["SPAN_WEIGHTS", "needs_extension", "pair_scorer", "session", "span_head", "stamped",
           "temperature_classifier"]

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


def span_head(*, mislabelled: bool = False,
              weights: np.ndarray | None = None) -> onnx.ModelProto:
    """``hidden`` float32 [batch, sequence, 4] → ``start_logits``, ``end_logits``, same shape.

    With ``mislabelled=True`` the graph's output *names* are swapped, as an exporter that
    applies a list of names by position to outputs in another order leaves them: the output
    called ``start_logits`` holds the end scores. Asking by name cannot see it.
    ``weights`` (float32 [4, 2]) replaces :data:`SPAN_WEIGHTS`.
    """
    w = SPAN_WEIGHTS if weights is None else np.asarray(weights, np.float32)
    if w.shape != (4, 2):
        raise ValueError(f"weights must have shape (4, 2), got {w.shape}")
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
        [numpy_helper.from_array(np.ascontiguousarray(w[:, ::-1] if mislabelled else w),
                                 "span_weights"),
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


def needs_extension() -> onnx.ModelProto:
    """``text`` string [batch] → ``clean``: ``StringRegexReplace`` from ``ai.onnx.contrib``."""
    graph = helper.make_graph(
        [helper.make_node("StringRegexReplace", ["text", "pattern", "rewrite"], ["clean"],
                          name="squeeze_spaces", domain="ai.onnx.contrib")],
        "needs_extension",
        [helper.make_tensor_value_info("text", TensorProto.STRING, ["batch"])],
        [helper.make_tensor_value_info("clean", TensorProto.STRING, ["batch"])],
        [helper.make_tensor("pattern", TensorProto.STRING, [1], [b"\\s+"]),
         helper.make_tensor("rewrite", TensorProto.STRING, [1], [b" "])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("ai.onnx.contrib", 1)],
                             ir_version=8, producer_name="demos.input_contract.graphs")


def stamped(model: onnx.ModelProto, *, ir_version: int | None = None,
            opset: int | None = None) -> bytes:
    """``model`` serialized, claiming ``ir_version`` and/or ai.onnx ``opset`` instead of its own."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    if ir_version is not None:
        copy.ir_version = ir_version
    if opset is not None:
        for entry in copy.opset_import:
            if entry.domain in ("", "ai.onnx"):
                entry.version = opset
    return copy.SerializeToString()


def session(model: onnx.ModelProto, *, log_severity: int = 3) -> ort.InferenceSession:
    """An onnxruntime CPU session for ``model`` (``log_severity`` 3: errors only)."""
    options = ort.SessionOptions()
    options.log_severity_level = log_severity
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
