"""Exercise 5.4's check: a start-up check of a model file against this onnxruntime.

The reader writes ``problems(model)``: for an ``onnx.ModelProto``, a list with one line per
reason this onnxruntime cannot load it (``[]`` when it can), each line naming its facts: the
model's IR version or opset and the highest this runtime reads, or the operator it lacks.
The limits are the ones :mod:`demos.input_contract.runtime` observed this installation to
read (``max_ir_version()``, ``max_opset(domain)``, ``runtime_operators()``). A function the
model defines (``model.functions``) is an operator it may call, and its body's nodes and
opset imports are judged like the graph's.

The oracle is onnxruntime itself: each model is opened with a real ``InferenceSession``,
so "loadable" means loadable here, never what a table says. Then the same ``problems`` runs
with ``runtime``'s limits pretended lower (:func:`lowered_limits`): onnx's own constants or
numbers written in agree with this onnxruntime, and only there do they show. While
``problems`` runs, opening an ``InferenceSession`` fails and fails the exercise: the point
is to refuse a model before opening it, one line per problem.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import onnx
import onnxruntime as ort

from demos import exercises
from demos.input_contract import graphs, runtime

__all__ = ["check_problems", "lowered_limits", "models"]


def _with_opset(model: onnx.ModelProto, domain: str, version: int) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.opset_import.append(onnx.helper.make_opsetid(domain, version))
    return copy


def _op_in_wrong_domain() -> onnx.ModelProto:
    """``Relu`` called from ai.onnx.ml: the operator exists, but only in ai.onnx."""
    f = onnx.TensorProto.FLOAT
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"], domain="ai.onnx.ml")], "relu_in_ml",
        [onnx.helper.make_tensor_value_info("x", f, [1])],
        [onnx.helper.make_tensor_value_info("y", f, [1])])
    return onnx.helper.make_model(graph, ir_version=8, opset_imports=[
        onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("ai.onnx.ml", 3)])


def _function(name: str, body: list[onnx.NodeProto],
              imports: tuple[tuple[str, int], ...] = (("", 17),)) -> onnx.FunctionProto:
    """A function ``my.functions:<name>`` from ``x`` to ``y``, as exporters write them."""
    return onnx.helper.make_function("my.functions", name, ["x"], ["y"], body, [
        onnx.helper.make_opsetid(domain, version) for domain, version in imports])


def _double_relu(imports: tuple[tuple[str, int], ...] = (("", 17),)) -> onnx.FunctionProto:
    return _function("DoubleRelu", [onnx.helper.make_node("Relu", ["x"], ["r"]),
                                    onnx.helper.make_node("Add", ["r", "r"], ["y"])], imports)


def _calling(functions: list[onnx.FunctionProto], op: str = "DoubleRelu",
             domain: str = "my.functions", also: tuple[str, ...] = ()) -> onnx.ModelProto:
    """A graph of one node, ``domain:op``, in a model that defines ``functions`` itself
    (``model.functions``): no runtime lists them, and onnxruntime runs them. It imports
    ai.onnx 17, ``my.functions`` 1 and each domain in ``also`` at 1."""
    f = onnx.TensorProto.FLOAT
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node(op, ["x"], ["y"], domain=domain)], "local_function",
        [onnx.helper.make_tensor_value_info("x", f, [2])],
        [onnx.helper.make_tensor_value_info("y", f, [2])])
    return onnx.helper.make_model(graph, ir_version=8, functions=functions, opset_imports=[
        onnx.helper.make_opsetid(d, 17 if d == "" else 1)
        for d in ("", "my.functions", *also)])


def _function_models(opset: int) -> list[tuple[str, onnx.ModelProto, tuple[str, ...], int]]:
    """Models defining functions: a body counts as the model's own nodes and opset imports,
    and a call must name a function's domain and name, or an operator the runtime has.
    (onnxruntime 1.32 checks every function's opset imports but the nodes of a function
    only when the graph calls it; no model here defines a function it does not call.)"""
    twice = [onnx.helper.make_node("DoubleRelu", [a], [b], domain="my.functions")
             for a, b in (("x", "d"), ("d", "y"))]
    nowhere = [onnx.helper.make_node("NoSuchOp", ["x"], ["y"], domain="com.nowhere")]
    return [
        ("a model using DoubleRelu, a function it defines itself (model.functions)",
         _calling([_double_relu()]), (), 0),
        ("a model using QuadRelu, a function it defines whose body calls DoubleRelu, "
         "another function it defines", _calling([_double_relu(), _function(
             "QuadRelu", twice, (("", 17), ("my.functions", 1)))], "QuadRelu"), (), 0),
        ("a model defining my.functions:DoubleRelu and calling my.functions:TripleRelu",
         _calling([_double_relu()], "TripleRelu"), ("TripleRelu",), 1),
        ("a model defining my.functions:DoubleRelu and calling other.functions:DoubleRelu",
         _calling([_double_relu()], domain="other.functions", also=("other.functions",)),
         ("DoubleRelu",), 1),
        ("a model using DoubleRelu, a function it defines whose body uses NoSuchOp from "
         "com.nowhere", _calling([_function("DoubleRelu", nowhere, (("", 17), (
             "com.nowhere", 1)))], also=("com.nowhere",)), ("NoSuchOp",), 1),
        (f"a model using DoubleRelu, a function it defines that imports ai.onnx opset "
         f"{opset + 1}", _calling([_double_relu((("", opset + 1),))]),
         (str(opset + 1), str(opset)), 1),
    ]


def _explicit_domain(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every node's domain written ``ai.onnx``, the long name of ``""``."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for node in copy.graph.node:
        if node.domain == "":
            node.domain = "ai.onnx"
    return copy


def _at_limits(head: onnx.ModelProto, ir: int,
               opset: int) -> list[tuple[str, onnx.ModelProto, tuple[str, ...], int]]:
    """Models stamped at exactly the limits: they load (a check with ``>=`` refuses them)."""
    return [
        (f"a model stamped IR version {ir} (the highest read)",
         onnx.load_model_from_string(graphs.stamped(head, ir_version=ir)), (), 0),
        (f"a model importing ai.onnx opset {opset} (the highest read)",
         onnx.load_model_from_string(graphs.stamped(head, opset=opset)), (), 0),
    ]


def models() -> list[tuple[str, onnx.ModelProto, tuple[str, ...], int]]:
    """(what it is, the model, the facts its problems must name, how many problems it has)."""
    head = graphs.span_head()
    ir, opset, ml = runtime.max_ir_version(), runtime.max_opset(""), runtime.max_opset("ai.onnx.ml")
    assert ml is not None, "this onnxruntime reads no ai.onnx.ml opset"
    return [
        (f"a model with IR version {head.ir_version}", head, (), 0),
        *_at_limits(head, ir, opset),
        ("a model whose nodes name their domain \"ai.onnx\" (the same as \"\")",
         _explicit_domain(head), (), 0),
        (f"a model that also imports ai.onnx.ml opset {ml}",
         _with_opset(head, "ai.onnx.ml", ml), (), 0),
        ("a model that also imports a custom domain, my.functions opset 1 (no limit: "
         "max_opset is None)", _with_opset(head, "my.functions", 1), (), 0),
        (f"a model stamped IR version {ir + 1}",
         onnx.load_model_from_string(graphs.stamped(head, ir_version=ir + 1)),
         (str(ir + 1), str(ir)), 1),
        (f"a model importing ai.onnx opset {opset + 1}",
         onnx.load_model_from_string(graphs.stamped(head, opset=opset + 1)),
         (str(opset + 1), str(opset)), 1),
        (f"a model stamped IR version {ir + 1} and importing ai.onnx opset {opset + 1}",
         onnx.load_model_from_string(graphs.stamped(head, ir_version=ir + 1, opset=opset + 1)),
         (str(ir + 1), str(ir), str(opset + 1), str(opset)), 2),
        (f"a model importing ai.onnx.ml opset {ml + 1}", _with_opset(head, "ai.onnx.ml", ml + 1),
         ("ai.onnx.ml", str(ml + 1), str(ml)), 1),
        ("a model using StringRegexReplace (ai.onnx.contrib)", graphs.needs_extension(),
         ("StringRegexReplace",), 1),
        ("a model using Relu from ai.onnx.ml (Relu is an ai.onnx operator)",
         _op_in_wrong_domain(), ("Relu",), 1),
        *_function_models(opset),
    ]


def lowered_limits() -> tuple[int, int]:
    """The IR version and ai.onnx opset the check pretends this runtime stops at, below the
    real ones, so that only an answer that reads ``runtime``'s limits gets them right
    (onnx's own ``IR_VERSION`` or a number written in agree with the real ones)."""
    return min(10, runtime.max_ir_version() - 1), min(21, runtime.max_opset("") - 1)


def _lowered_models() -> list[tuple[str, onnx.ModelProto, tuple[str, ...], int]]:
    head = graphs.span_head()
    ir, opset = lowered_limits()
    return [
        (f"a model with IR version {head.ir_version}", head, (), 0),
        *_at_limits(head, ir, opset),
        (f"a model stamped IR version {ir + 1}",
         onnx.load_model_from_string(graphs.stamped(head, ir_version=ir + 1)),
         (str(ir + 1), str(ir)), 1),
        (f"a model importing ai.onnx opset {opset + 1}",
         onnx.load_model_from_string(graphs.stamped(head, opset=opset + 1)),
         (str(opset + 1), str(opset)), 1),
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


@contextlib.contextmanager
def _opening_refused(opened: list[str]) -> Iterator[None]:
    """While the reader's ``problems()`` runs, opening a session fails and is recorded: the
    exercise is to refuse a model *before* opening it (``runtime``'s own probes may open)."""
    real = ort.InferenceSession

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__") == runtime.__name__:
            return real(*args, **kwargs)
        opened.append("onnxruntime.InferenceSession")
        raise RuntimeError("exercise 5.4: problems() opened the model with "
                           "onnxruntime.InferenceSession; check it before opening it")

    ort.InferenceSession = refuse  # type: ignore[misc]
    try:
        yield
    finally:
        ort.InferenceSession = real  # type: ignore[misc]


@contextlib.contextmanager
def _limits(ir: int, opset: int) -> Iterator[None]:
    """``runtime.max_ir_version()`` and ``runtime.max_opset("")`` answer ``ir`` and ``opset``."""
    real_ir, real_opset = runtime.max_ir_version, runtime.max_opset
    runtime.max_ir_version = lambda: ir  # type: ignore[assignment]
    runtime.max_opset = (  # type: ignore[assignment]
        lambda domain="": opset if domain in ("", "ai.onnx") else real_opset(domain))
    try:
        yield
    finally:
        runtime.max_ir_version, runtime.max_opset = real_ir, real_opset  # type: ignore[misc]


def _judge(problems: Callable[[onnx.ModelProto], Any], cases: list[Any], loads: Callable[
        [onnx.ModelProto], bool], wrong: list[str], prefix: str = "",
           where: str = "here") -> str | None:
    """Adds to ``wrong`` what ``problems`` gets wrong on ``cases``; a message if it broke."""
    for what, model, facts, reasons in cases:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)  # the reader's code cannot change the next case
        opened: list[str] = []
        with _opening_refused(opened):
            said = problems(copy)
        if opened:
            return (f"{prefix}problems() opened {what} with onnxruntime.InferenceSession; "
                    "a start-up check refuses a model before opening it")
        if not isinstance(said, list) or not all(isinstance(s, str) for s in said):
            return f"problems() must return a list of str, got {type(said).__name__} for {what}"
        if loads(model) and said:
            wrong.append(f"{prefix}{what} loads {where}, but you reported {said[0]!r}")
        elif not loads(model) and not said:
            wrong.append(f"{prefix}{what} does not load {where}, and you reported nothing")
        elif not loads(model):
            text = " ".join(said)
            missing = [fact for fact in facts if not _named(fact, text)]
            if missing:
                wrong.append(f"{prefix}for {what} you reported {text!r}, which does not name "
                             f"{', '.join(missing)}")
            elif len(said) != reasons:
                wrong.append(f"{prefix}for {what} you reported {len(said)} line(s), "
                             f"{said!r}; it has {reasons} problem(s), one line each")
    return None


def check_problems(problems: Callable[[onnx.ModelProto], Any]) -> exercises.Verdict:
    """``problems(model)`` must agree with onnxruntime on every model and name the facts,
    then agree with lowered limits read through ``runtime`` (:func:`lowered_limits`)."""
    wrong: list[str] = []
    cases = models()
    broke = _judge(problems, cases, _loads, wrong)
    ir, opset = lowered_limits()
    if broke is None and not wrong:
        lowered = _lowered_models()
        fits = {id(model): reasons == 0 for _, model, _, reasons in lowered}
        with _limits(ir, opset):
            broke = _judge(problems, lowered, lambda m: fits[id(m)], wrong,
                           f"with runtime's limits set to IR {ir} and ai.onnx opset {opset} "
                           "(read them from runtime, not from onnx or a number): ",
                           "under those limits")
    if broke:
        return exercises.failed("5.4", broke)
    if wrong:
        return exercises.failed("5.4", "; ".join(wrong))
    return exercises.passed("5.4", f"agreed with onnxruntime on all {len(cases)} models, "
                                   "one line per problem naming its versions or operator; "
                                   f"and with runtime's limits lowered to IR {ir}, opset {opset}")
