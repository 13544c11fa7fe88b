"""Tests that see a ``# FIX:`` line the chapter's own tests let through.

``make mutants`` (tools/line_mutants.py) undoes each ``# FIX:`` line and runs the tests of
its chapter whose names contain ``fixed``, including the ones here whose names contain the
chapter's name. Each test below kills a mutant that survived the chapter's own file.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from demos.input_contract import fixed, graphs


def _two_unnamed_dims() -> onnx.ModelProto:
    """``total = sum(a) + sum(b)``: two inputs of one axis each, unknown and unnamed."""
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["a"], ["sa"], keepdims=0),
         helper.make_node("ReduceSum", ["b"], ["sb"], keepdims=0),
         helper.make_node("Add", ["sa", "sb"], ["total"])],
        "two_unnamed_dims",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [None]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [])],
    )
    return graphs._model(graph)


def test_fixed_input_contract_binds_only_named_dims_so_unnamed_ones_may_differ():
    # feed_checks: `if isinstance(dim, str):  # FIX: shared dynamic dims must agree`. An
    # unnamed dim (None) is free per input: onnxruntime runs sizes 2 and 3 and so must the
    # contract; binding every dim would refuse it as "inputs disagree on dimension None".
    contract = fixed.ModelContract(graphs.session(_two_unnamed_dims()))
    assert [s.shape for s in contract.signature.inputs] == [(None,), (None,)]
    out = contract.run({"a": np.ones(2, np.float32), "b": np.full(3, 2.0, np.float32)})
    assert float(out["total"]) == 8.0
