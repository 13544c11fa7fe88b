"""Exercise 5.4's check: a start-up check of a model file against this onnxruntime.

The reader writes ``problems(model)``: for an ``onnx.ModelProto``, a list with one line per
reason this onnxruntime cannot load it (``[]`` when it can), each line naming its facts: the
model's IR version or opset and the highest this runtime reads, or the operator it lacks.
The limits are the ones :mod:`demos.input_contract.runtime` observed this installation to
read (``max_ir_version()``, ``max_opset(domain)``, ``runtime_operators()``).

The oracle is onnxruntime itself: each model is opened with a real ``InferenceSession``,
so "loadable" means loadable here, never what a table says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import onnx
import onnxruntime as ort

from demos import exercises
from demos.input_contract import graphs, runtime

__all__ = ["check_problems", "models"]


def _with_opset(model: onnx.ModelProto, domain: str, version: int) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.opset_import.append(onnx.helper.make_opsetid(domain, version))
    return copy


def models() -> list[tuple[str, onnx.ModelProto, tuple[str, ...]]]:
    """(what it is, the model, the facts a problem about it must name: () if none)."""
    head = graphs.span_head()
    ir, opset, ml = runtime.max_ir_version(), runtime.max_opset(""), runtime.max_opset("ai.onnx.ml")
    assert ml is not None, "this onnxruntime reads no ai.onnx.ml opset"
    return [
        (f"a model with IR version {head.ir_version}", head, ()),
        (f"a model that also imports ai.onnx.ml opset {ml}",
         _with_opset(head, "ai.onnx.ml", ml), ()),
        (f"a model stamped IR version {ir + 1}",
         onnx.load_model_from_string(graphs.stamped(head, ir_version=ir + 1)),
         (str(ir + 1), str(ir))),
        (f"a model importing ai.onnx opset {opset + 1}",
         onnx.load_model_from_string(graphs.stamped(head, opset=opset + 1)),
         (str(opset + 1), str(opset))),
        (f"a model importing ai.onnx.ml opset {ml + 1}", _with_opset(head, "ai.onnx.ml", ml + 1),
         ("ai.onnx.ml", str(ml + 1), str(ml))),
        ("a model using StringRegexReplace (ai.onnx.contrib)", graphs.needs_extension(),
         ("StringRegexReplace",)),
    ]


def _loads(model: onnx.ModelProto) -> bool:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: a refusal is the answer, not a warning
    try:
        ort.InferenceSession(model.SerializeToString(), options,
                             providers=["CPUExecutionProvider"])
    except Exception:  # any refusal at load time is "not loadable here"
        return False
    return True


def _named(fact: str, text: str) -> bool:
    """``fact`` appears in ``text`` as a whole token (``14`` is not named by ``140``)."""
    return re.search(rf"(?<![\w.]){re.escape(fact)}(?![\w]|\.\w)", text) is not None


def check_problems(problems: Callable[[onnx.ModelProto], Any]) -> exercises.Verdict:
    """``problems(model)`` must agree with onnxruntime on every model and name the facts."""
    wrong = []
    for what, model, facts in models():
        copy = onnx.ModelProto()
        copy.CopyFrom(model)  # the reader's code cannot change the next case
        said = problems(copy)
        if not isinstance(said, list) or not all(isinstance(s, str) for s in said):
            return exercises.failed("5.4", f"problems() must return a list of str, got "
                                           f"{type(said).__name__} for {what}")
        loads = _loads(model)
        if loads and said:
            wrong.append(f"{what} loads here, but you reported {said[0]!r}")
        elif not loads and not said:
            wrong.append(f"{what} does not load here, and you reported nothing")
        elif not loads:
            text = " ".join(said)
            missing = [fact for fact in facts if not _named(fact, text)]
            if missing:
                wrong.append(f"for {what} you reported {text!r}, which does not name "
                             f"{', '.join(missing)}")
    if wrong:
        return exercises.failed("5.4", "; ".join(wrong))
    return exercises.passed("5.4", f"agreed with onnxruntime on all {len(models())} models, "
                                   "naming the versions or the operator of every problem")
