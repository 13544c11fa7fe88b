"""Two tiny ONNX graphs that show how onnxruntime treats dtypes at the edge and inside."""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

__all__ = ["ops_after_loading", "square_then_divide"]

_TYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}


def square_then_divide(dtype: str = "float32") -> ort.InferenceSession:
    """A session for ``y = (x * x) / x`` with input and output of ``dtype``.

    In float16 arithmetic ``x * x`` overflows for ``|x| > 255.9``, so ``y`` would be inf;
    computed in float32 it is ``x`` again.
    """
    return ort.InferenceSession(_model(dtype).SerializeToString(),
                                providers=["CPUExecutionProvider"])


def ops_after_loading(dtype: str = "float16") -> list[str]:
    """The node types onnxruntime actually runs for :func:`square_then_divide`, in order."""
    with tempfile.TemporaryDirectory(prefix="precision-") as folder:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        ort.InferenceSession(_model(dtype).SerializeToString(), options,
                             providers=["CPUExecutionProvider"])
        return [node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node]


def _model(dtype: str) -> onnx.ModelProto:
    if dtype not in _TYPES:
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    elem = _TYPES[dtype]
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["square"]),
         helper.make_node("Div", ["square", "x"], ["y"])],
        "square_then_divide",
        [helper.make_tensor_value_info("x", elem, ["n"])],
        [helper.make_tensor_value_info("y", elem, ["n"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model
