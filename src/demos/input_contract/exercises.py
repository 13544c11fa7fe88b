"""Checks for chapter 5's exercises; each returns a :class:`demos.exercises.Verdict`.

* :func:`check_1`: a ``ModelContract`` subclass that asks for outputs by name and refuses an
  overridable initializer left out by accident (through :func:`scenario.run`).
* :func:`check_2`: a feed builder for *any* encoder-like session, whatever inputs and
  integer types it declares: tried on four models built with ``onnx.helper``.
* :func:`check_3`: which output holds what, found by a known answer rather than by name:
  tried on span heads whose output names are right and whose names are swapped.
* :func:`check_4`: a start-up check of a model file against this onnxruntime, judged
  against onnxruntime itself (:mod:`demos.input_contract.runtime_exercise`).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import tokenizers
from onnx import TensorProto, helper, numpy_helper

from demos import exercises
from demos.exercises import Verdict
from demos.input_contract import graphs, runtime_exercise, scenario
from demos.input_contract.signature import ContractError

__all__ = ["check_1", "check_2", "check_3", "check_4", "second_models", "span_heads"]


def calibrated_scorer() -> onnx.ModelProto:
    """``x`` float32 [batch, 2] → ``shifted`` = x·scale + shift and ``scaled`` = x·scale,
    declared in that order; ``scale`` (2.0) and ``shift`` (0.5) are overridable defaults.
    A second model for exercise 5.1, so no input or output name can be hard-coded."""
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "scale"], ["scaled"]),
         helper.make_node("Add", ["scaled", "shift"], ["shifted"])],
        "calibrated_scorer",
        [helper.make_tensor_value_info("x", f, ["batch", 2]),
         helper.make_tensor_value_info("scale", f, []),
         helper.make_tensor_value_info("shift", f, [])],
        [helper.make_tensor_value_info("shifted", f, ["batch", 2]),
         helper.make_tensor_value_info("scaled", f, ["batch", 2])],
        [numpy_helper.from_array(np.array(2.0, np.float32), "scale"),
         numpy_helper.from_array(np.array(0.5, np.float32), "shift")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


#: Exercise 5.1's calls on the second model that must raise: (passed, outputs, listed in
#: use_defaults, the defaults left out that the error must name, what a silent pass suggests).
_MUST_RAISE = (
    (("x",), None, (), ("scale", "shift"), "is an input name written into your class?"),
    (("x", "scale"), None, (), ("shift",), "is an input name written into your class?"),
    (("x",), ["shifted"], (), ("scale", "shift"), "is the check skipped when outputs are "
                                                  "named?"),
    (("x",), None, ("scale",), ("shift",), "is every default accepted once one is listed, "
                                           "or only the first one left out checked?"),
    (("x",), None, ("shift",), ("scale",), "is only the last default left out checked? each "
                                           "one left out must be listed by its own name"),
    (("x", "scale"), None, ("scale",), ("shift",), "are defaults counted rather than named? "
                                                   "listing scale, which was passed, does not "
                                                   "cover shift"),
)


def _call(passed: tuple[str, ...], outputs: list[str] | None, listed: tuple[str, ...]) -> str:
    """How a call on the second model reads in a message: ``run(x, scale, use_defaults=...)``."""
    extra = [f"outputs={outputs}"] * bool(outputs) + [f"use_defaults={list(listed)}"] * bool(
        listed)
    return f"run({', '.join([*passed, *extra])})"


def _second_model_problem(contract_class: type) -> str | None:
    """What ``contract_class`` gets wrong on :func:`calibrated_scorer`, or None: every default
    left out must be named by the error unless it is listed itself, whatever else is passed
    or listed, and a default listed while another is passed must run."""
    contract = contract_class(graphs.session(calibrated_scorer()))
    x, three = np.array([[1.0, -2.0]], np.float32), np.array(3.0, np.float32)
    values = {"x": x, "scale": three, "shift": three}
    for passed, outputs, listed, missing, hint in _MUST_RAISE:
        call = _call(passed, outputs, listed)
        try:
            contract.run({n: values[n] for n in passed}, outputs, use_defaults=listed)
        except ContractError as error:
            if not any(name in str(error) for name in missing):
                return (f"a second model: {call} left out {' or '.join(missing)}, and the "
                        f"error names neither: {error}" if len(missing) > 1 else
                        f"a second model: {call} left out {missing[0]}, and the error does "
                        f"not name it: {error}")
            continue
        except Exception as error:  # the reader's class may raise anything
            return (f"a second model: {call} left out {' and '.join(missing)} and raised "
                    f"{type(error).__name__}, not a ContractError")
        return (f"a second model: {call} left out {' and '.join(missing)}, which passed in "
                f"silence ({hint})")
    asks = ((({"x": x}, ["scaled", "shifted"], ("scale", "shift")),
             {"scaled": x * 2.0, "shifted": x * 2.0 + 0.5}),
            (({"x": x, "scale": three, "shift": three}, None, ()),
             {"shifted": x * 3 + 3, "scaled": x * 3}),
            (({"x": x, "shift": three}, None, ("scale",)),
             {"shifted": x * 2.0 + 3, "scaled": x * 2.0}))
    for (arrays, outputs, defaults), want in asks:
        call = _call(tuple(arrays), outputs, defaults)
        try:
            got = contract.run(arrays, outputs, use_defaults=defaults)
        except Exception as error:  # the reader's class may raise anything
            return (f"a second model: {call} leaves out only what it lists, yet raised "
                    f"{type(error).__name__}: {error} (must use_defaults list every default, "
                    "or a passed input too?)")
        if sorted(got) != sorted(want) or any(
                not np.allclose(got[k], v) for k, v in want.items()):
            return (f"a second model: {call} returned the wrong values under their names "
                    "(are outputs asked by position, or names written into your class?)")
    return None


def check_1(contract_class: type) -> Verdict:
    """``contract_class`` gets swapped_outputs right and makes omitted_default a clear error,
    on the chapter's models and on a second one (:func:`calibrated_scorer`)."""

    def attempt() -> Verdict:
        mine = types.SimpleNamespace(ModelContract=contract_class, ContractError=ContractError,
                                     NAME="yours")
        wanted = {"swapped_outputs": "correct", "omitted_default": "clear error"}
        seen = {case: scenario.attempt(mine, case, model="tiny").verdict for case in wanted}
        session = graphs.session(graphs.temperature_classifier())
        logits = np.zeros((1, 3), np.float32)
        asked = contract_class(session).run({"logits": logits}, use_defaults=["temperature"])
        summary = "; ".join(f"{case}: {verdict}" for case, verdict in seen.items())
        if seen != wanted:
            return exercises.failed("5.1", f"{summary} (want: {', '.join(wanted.values())}; "
                                           "a clear error is a ContractError naming the input)")
        if not np.allclose(asked["probs"], 1 / 3):
            return exercises.failed("5.1", "use_defaults=['temperature'] no longer takes the "
                                           "stored default")
        problem = _second_model_problem(contract_class)
        if problem:
            return exercises.failed("5.1", problem)
        return exercises.passed("5.1", f"{summary}; use_defaults still takes the default; "
                                       "a second model's inputs and outputs right too")

    return exercises.check("5.1", attempt)


def _encoder_like(name: str, inputs: dict[str, int]) -> onnx.ModelProto:
    """A graph taking ``inputs`` (name → TensorProto type) [batch, sequence] in that order,
    returning each as int64 ``<name>_seen``: it runs only if every feed has the declared
    type, and each output shows what was fed under that name (a sum would hide a swap)."""
    nodes = [helper.make_node("Cast", [n], [f"{n}_seen"], to=TensorProto.INT64) for n in inputs]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, t, ["batch", "sequence"]) for n, t in inputs.items()],
        [helper.make_tensor_value_info(f"{n}_seen", TensorProto.INT64, ["batch", "sequence"])
         for n in inputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def second_models() -> dict[str, onnx.ModelProto]:
    """Four models with different inputs: BERT-like int64, DistilBERT-like int32 without
    token types, one declaring its inputs in another order, and one that needs an input a
    tokenizer cannot give (``pixel_values``)."""
    i64, i32 = TensorProto.INT64, TensorProto.INT32
    return {
        "bert-like": _encoder_like("bert_like", {"input_ids": i64, "attention_mask": i64,
                                                 "token_type_ids": i64}),
        "distilbert-like int32": _encoder_like("distil_like", {"input_ids": i32,
                                                               "attention_mask": i32}),
        "inputs in another order": _encoder_like("reordered", {"attention_mask": i64,
                                                               "token_type_ids": i64,
                                                               "input_ids": i64}),
        "needs pixel_values": _encoder_like("vision_text", {"input_ids": i64,
                                                            "pixel_values": i64}),
    }


def _fed_wrong(session: Any, feeds: Any, right: dict[str, list[Any]]) -> str | None:
    """None when every input got the tokenizer's field it names, else which did not."""
    if not isinstance(feeds, dict):
        return f"returned a {type(feeds).__name__}, not a dict of name → array"
    declared = [i.name for i in session.get_inputs()]
    try:
        seen = session.run([f"{n}_seen" for n in declared], feeds)
    except Exception as error:  # onnxruntime refused the feeds
        return f"onnxruntime refused the feeds ({type(error).__name__})"
    wrong = [n for n, got in zip(declared, seen, strict=True)
             if not np.array_equal(got, np.array(right[n], np.int64))]
    return f"wrong values fed as {', '.join(wrong)}" if wrong else None


#: The pad id of the check's tokenizer: not 0 (as RoBERTa's is 1), so a mask built as
#: ``ids != 0`` counts the padding.
PAD_ID = 1


def _pair_encodings() -> list[Any]:
    """The tiny tokenizer's encodings of three sentence pairs (token types 0 and 1), padded
    with :data:`PAD_ID`: every field differs from a guess (mask from ids, types all 0)."""
    tokenizer = tokenizers.Tokenizer.from_str(scenario._encoder("tiny").tokenizer.to_str())
    tokenizer.enable_padding(pad_id=PAD_ID, pad_token=tokenizer.id_to_token(PAD_ID))
    texts = scenario.TEXTS
    encodings = tokenizer.encode_batch([(texts[i], texts[(i + 1) % len(texts)])
                                        for i in range(len(texts))])
    assert any(0 in e.attention_mask for e in encodings), "the pairs are not padded"
    assert any(1 in e.type_ids for e in encodings), "the pairs have no second segment"
    return encodings


def check_2(make_feeds: Callable[[Any, list[Any]], dict[str, Any]]) -> Verdict:
    """``make_feeds(session, encodings)`` feeds each model exactly what it declares."""

    def attempt() -> Verdict:
        encodings = _pair_encodings()
        right = {"input_ids": [e.ids for e in encodings],
                 "attention_mask": [e.attention_mask for e in encodings],
                 "token_type_ids": [e.type_ids for e in encodings]}
        models = second_models()
        problems, passed = [], 0
        for label, model in models.items():
            session = graphs.session(model)
            declared = [i.name for i in session.get_inputs()]
            if "pixel_values" in declared:
                try:
                    make_feeds(session, encodings)
                except ValueError as error:
                    if "pixel_values" in str(error):
                        passed += 1
                        continue
                    problems.append(f"{label}: the error does not name 'pixel_values'")
                    continue
                problems.append(f"{label}: no ValueError for an input it cannot supply")
                continue
            problem = _fed_wrong(session, make_feeds(session, encodings), right)
            if problem:
                problems.append(f"{label}: {problem}")
            else:
                passed += 1
        message = f"{passed} of {len(models)} models fed right"
        if problems:
            return exercises.failed("5.2", f"{message}; {'; '.join(problems)}")
        return exercises.passed("5.2", message)

    return exercises.check("5.2", attempt)


def span_heads() -> list[tuple[str, onnx.ModelProto, np.ndarray, dict[str, str]]]:
    """``(label, model, weights, truth)``: five weight sets, names right and names swapped;
    ``truth`` maps "start"/"end" to the output name that really holds them. The third set
    is the first with its columns swapped, so no rule on the values alone (the larger
    output is the start, say) holds for all of them. The fourth set's columns share their
    signs, the row of their largest value and their first row; the fifth's hold the same
    four values in another order (the same first and last rows, largest and smallest value,
    sum and signs), so only comparing each row of a column tells the two apart."""
    heads = []
    first = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)
    alike = np.array([[0.5, 0.5], [1.0, 2.0], [-0.3, -0.6], [0.7, 1.4]], np.float32)
    reordered = np.array([[2.0, 2.0], [0.3, 0.9], [0.9, 0.3], [-0.6, -0.6]], np.float32)
    for seed in (1, 2, 3, 4, 5):
        weights = (first if seed == 1 else first[:, ::-1].copy() if seed == 3 else
                   alike if seed == 4 else reordered if seed == 5 else
                   np.random.default_rng(seed).normal(size=(4, 2)).astype(np.float32))
        for mislabelled in (False, True):
            truth = ({"start": "end_logits", "end": "start_logits"} if mislabelled
                     else {"start": "start_logits", "end": "end_logits"})
            label = f"weights {seed}, names {'swapped' if mislabelled else 'right'}"
            heads.append((label, graphs.span_head(mislabelled=mislabelled, weights=weights),
                          weights, truth))
    return heads


def check_3(identify: Callable[[Any, np.ndarray], dict[str, str]]) -> Verdict:
    """``identify(session, weights)`` → {"start": output name, "end": output name}."""

    def attempt() -> Verdict:
        wrong = []
        heads = span_heads()
        for label, model, weights, truth in heads:
            found = identify(graphs.session(model), weights.copy())
            if found != truth:
                wrong.append(label)
        message = f"{len(heads) - len(wrong)} of {len(heads)} heads identified"
        if wrong:
            return exercises.failed("5.3", f"{message}; wrong for: {', '.join(wrong)}")
        return exercises.passed("5.3", message)

    return exercises.check("5.3", attempt)


def check_4(problems: Callable[[onnx.ModelProto], list[str]]) -> Verdict:
    """``problems(model)`` → one line per reason this onnxruntime cannot load ``model``."""
    return exercises.check("5.4", lambda: runtime_exercise.check_problems(problems))
