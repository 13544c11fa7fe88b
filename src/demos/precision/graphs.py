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
    "chain_bytes",
    "compute_dtypes",
    "float32_islands",
    "matmul_bytes",
    "ops_after_loading",
    "optimized_graph",
    "optimized_model",
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


def chain_bytes(dtype: str = "float16") -> bytes:
    """A serialized model ``y = ReduceMax(Exp(Erf(x * x)))``, plus ``r = Reshape(x)``.

    On an x86-64 CPU build, in float16, onnxruntime casts ``x`` to float32 for ``Mul`` and
    removes the Cast pairs between the float32 nodes after it: four nodes compute in float32,
    one reads an inserted Cast, and the Reshape moves float16 data as it is.
    """
    if dtype not in _TYPES:
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    elem = _TYPES[dtype]
    shape = onnx.numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["square"]),
         helper.make_node("Erf", ["square"], ["erf"]),
         helper.make_node("Exp", ["erf"], ["exp"]),
         helper.make_node("ReduceMax", ["exp"], ["y"], keepdims=1),
         helper.make_node("Reshape", ["x", "shape"], ["r"])],
        "chain",
        [helper.make_tensor_value_info("x", elem, ["n"])],
        [helper.make_tensor_value_info("y", elem, [1]),
         helper.make_tensor_value_info("r", elem, ["n", 1])], [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model.SerializeToString()


def ops_after_loading(dtype: str = "float16") -> list[str]:
    """The node types onnxruntime actually runs for :func:`square_then_divide`, in order."""
    return [node.op_type for node in optimized_graph(_model(dtype).SerializeToString()).node]


def optimized_model(model: bytes, *, level: str = "basic") -> onnx.ModelProto:
    """The graph a CPU session really runs for ``model``, saved by onnxruntime itself
    (``SessionOptions.optimized_model_filepath``) after its optimizations at ``level``:
    ``"basic"``, or ``"all"`` (onnxruntime's default, which the book's sessions use)."""
    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    if level not in levels:
        raise ValueError(f"level must be 'basic' or 'all', got {level!r}")
    with tempfile.TemporaryDirectory(prefix="precision-") as folder:
        options = ort.SessionOptions()
        options.graph_optimization_level = levels[level]
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


def optimized_graph(model: bytes, *, level: str = "basic") -> onnx.GraphProto:
    """The graph of :func:`optimized_model`."""
    return optimized_model(model, level=level).graph


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


def compute_dtypes(model: bytes) -> dict[str, dict[str, int]]:
    """Per compute dtype, per operator type: how many nodes of the optimised graph (level
    ``"all"``, as the book's sessions load) read or write a tensor of that dtype.

    Keys: ``"float32"`` (a node with any float32 input or output: it computes in float32,
    whether onnxruntime cast its inputs or an earlier float32 node fed it), ``"float16"``
    (every float tensor it touches is float16), ``"no float"`` (shapes, ids). Cast nodes
    are counted apart, under ``"Cast"`` in every key they touch. Tensor types come from
    ``onnx.shape_inference`` on the saved graph; a node whose types it cannot infer is
    counted under ``"unknown"``.
    """
    graph = onnx.shape_inference.infer_shapes(optimized_model(model, level="all")).graph
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*graph.input, *graph.output, *graph.value_info]}
    types.update({t.name: t.data_type for t in graph.initializer})
    names = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16"}
    found: dict[str, Counter[str]] = {}
    for node in graph.node:
        seen = [types.get(t) for t in [*node.input, *node.output] if t]
        floats = {names[t] for t in seen if t in names}
        key = ("unknown" if None in seen or 0 in seen else "float32" if "float32" in floats
               else "float16" if floats else "no float")
        found.setdefault(key, Counter())[node.op_type] += 1
    return {key: dict(sorted(c.items(), key=lambda item: (-item[1], item[0])))
            for key, c in sorted(found.items())}


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
