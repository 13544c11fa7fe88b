"""How onnxruntime treats dtypes at the edge and inside: a tiny graph, and what it inserts.

onnxruntime's CPU provider runs an operator in float16 only where it has a float16 kernel
for it; everywhere else, when a session loads, a graph transformer wraps the node in
``Cast`` nodes (named ``InsertedPrecisionFreeCast_…``) and runs it in float32. Which
operators have float16 kernels depends on the build: x86-64 builds have very few, ARM64
builds have more (MLAS float16 kernels; see the chapter). So the functions here *look* at
the optimized graph instead of assuming.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
from onnx import TensorProto, helper

__all__ = [
    "INSERTED_CAST_PREFIX",
    "float32_islands",
    "matmul_bytes",
    "ops_after_loading",
    "optimized_graph",
    "square_then_divide",
    "square_then_divide_bytes",
]

#: How onnxruntime names the Cast nodes it inserts around operators it runs in float32.
INSERTED_CAST_PREFIX = "InsertedPrecisionFreeCast_"

_TYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}


def square_then_divide(dtype: str = "float32") -> ort.InferenceSession:
    """A session for ``y = (x * x) / x`` with input and output of ``dtype``.

    In float16 arithmetic ``x * x`` overflows for ``|x| > 255.9``, so ``y`` would be inf;
    computed in float32 it is ``x`` again.
    """
    return ort.InferenceSession(_model(dtype).SerializeToString(),
                                providers=["CPUExecutionProvider"])


def square_then_divide_bytes(dtype: str = "float16") -> bytes:
    """The serialized model behind :func:`square_then_divide`."""
    return _model(dtype).SerializeToString()


def matmul_bytes(dtype: str = "float16") -> bytes:
    """A serialized model ``y = x @ W`` (W a constant 2x2) with input and output of ``dtype``."""
    if dtype not in _TYPES:
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    weight = onnx.numpy_helper.from_array(np.eye(2, dtype=np.dtype(dtype)), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
        [helper.make_tensor_value_info("x", _TYPES[dtype], ["n", 2])],
        [helper.make_tensor_value_info("y", _TYPES[dtype], ["n", 2])], [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model.SerializeToString()


def ops_after_loading(dtype: str = "float16") -> list[str]:
    """The node types onnxruntime actually runs for :func:`square_then_divide`, in order."""
    return [node.op_type for node in optimized_graph(_model(dtype).SerializeToString()).node]


def optimized_graph(model: bytes) -> onnx.GraphProto:
    """The graph a CPU session really runs for ``model`` (basic optimizations, as loaded)."""
    with tempfile.TemporaryDirectory(prefix="precision-") as folder:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath).graph


def float32_islands(model: bytes) -> dict[str, int]:
    """Per operator type, how many nodes read an input onnxruntime cast to float32 on load.

    Those nodes run in float32 although the model says float16. An empty dict means every
    float16 operator of ``model`` has a float16 kernel in this build.
    """
    graph = optimized_graph(model)
    inserted = {out for node in graph.node if node.name.startswith(INSERTED_CAST_PREFIX)
                for out in node.output}
    found = Counter(node.op_type for node in graph.node
                    if node.op_type != "Cast" and inserted.intersection(node.input))
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


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
