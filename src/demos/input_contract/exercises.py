"""Checks for chapter 5's exercises; each returns a :class:`demos.exercises.Verdict`.

* :func:`check_1`: a ``ModelContract`` subclass that asks for outputs by name and refuses an
  overridable initializer left out by accident (through :func:`scenario.run`).
* :func:`check_2`: a feed builder for *any* encoder-like session, whatever inputs and
  integer types it declares: tried on three models built with ``onnx.helper``.
* :func:`check_3`: which output holds what, found by a known answer rather than by name:
  tried on span heads whose output names are right and whose names are swapped.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from demos import exercises
from demos.exercises import Verdict
from demos.input_contract import graphs, scenario
from demos.input_contract.signature import ContractError

__all__ = ["check_1", "check_2", "check_3", "second_models", "span_heads"]


def check_1(contract_class: type) -> Verdict:
    """``contract_class`` gets swapped_outputs right and makes omitted_default a clear error."""

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
        return exercises.passed("5.1", f"{summary}; use_defaults still takes the default")

    return exercises.check("5.1", attempt)


def _encoder_like(name: str, inputs: dict[str, int]) -> onnx.ModelProto:
    """A graph taking ``inputs`` (name → TensorProto type) [batch, sequence], returning their
    sum as int64 ``total`` [batch, sequence]: it runs only if every feed is right."""
    names = list(inputs)
    nodes = [helper.make_node("Cast", [n], [f"{n}_64"], to=TensorProto.INT64) for n in names]
    total = f"{names[0]}_64"
    for i, n in enumerate(names[1:]):
        nodes.append(helper.make_node("Add", [total, f"{n}_64"], [f"sum{i}"]))
        total = f"sum{i}"
    nodes.append(helper.make_node("Identity", [total], ["total"]))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, t, ["batch", "sequence"]) for n, t in inputs.items()],
        [helper.make_tensor_value_info("total", TensorProto.INT64, ["batch", "sequence"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def second_models() -> dict[str, onnx.ModelProto]:
    """Three models with different inputs: BERT-like int64, DistilBERT-like int32 without
    token types, and one that needs an input a tokenizer cannot give (``pixel_values``)."""
    i64, i32 = TensorProto.INT64, TensorProto.INT32
    return {
        "bert-like": _encoder_like("bert_like", {"input_ids": i64, "attention_mask": i64,
                                                 "token_type_ids": i64}),
        "distilbert-like int32": _encoder_like("distil_like", {"input_ids": i32,
                                                               "attention_mask": i32}),
        "needs pixel_values": _encoder_like("vision_text", {"input_ids": i64,
                                                            "pixel_values": i64}),
    }


def check_2(make_feeds: Callable[[Any, list[Any]], dict[str, Any]]) -> Verdict:
    """``make_feeds(session, encodings)`` feeds each model exactly what it declares."""

    def attempt() -> Verdict:
        encoder = scenario._encoder("tiny")
        encodings = encoder.tokenizer.encode_batch(list(scenario.TEXTS))
        right = {"input_ids": [e.ids for e in encodings],
                 "attention_mask": [e.attention_mask for e in encodings],
                 "token_type_ids": [e.type_ids for e in encodings]}
        problems, passed = [], 0
        for label, model in second_models().items():
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
            try:
                total = session.run(None, make_feeds(session, encodings))[0]
            except Exception as error:  # onnxruntime refused the feeds
                problems.append(f"{label}: onnxruntime refused the feeds "
                                f"({type(error).__name__})")
                continue
            if np.array_equal(total, sum(np.array(right[n], np.int64) for n in declared)):
                passed += 1
            else:
                problems.append(f"{label}: wrong values fed")
        message = f"{passed} of 3 models fed right"
        if problems:
            return exercises.failed("5.2", f"{message}; {'; '.join(problems)}")
        return exercises.passed("5.2", message)

    return exercises.check("5.2", attempt)


def span_heads() -> list[tuple[str, onnx.ModelProto, np.ndarray, dict[str, str]]]:
    """``(label, model, weights, truth)``: two weight sets, names right and names swapped;
    ``truth`` maps "start"/"end" to the output name that really holds them."""
    heads = []
    for seed in (1, 2):
        weights = np.random.default_rng(seed).normal(size=(4, 2)).astype(np.float32)
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
