"""The mistakes ``scenario.run`` makes: a feed gone wrong, or a file newer than the runtime.

A *feed* case (:class:`Case`) takes a correct call (feeds, the outputs wanted, and the answer
onnxruntime gives for it) and makes one mistake a real caller makes. A *load* case
(:class:`LoadCase`) is a file written for a newer runtime than the one installed (an IR
version, an opset, an operator, a tokenizer.json type or field it does not know), for the
implementation's ``open_session`` or ``open_tokenizer`` to open.

Each case declares the *facts* a clear error must name (:mod:`.facts`): where the problem
is (the input, the field, the operator) and what is wrong (expected and received type,
size or version), computed from the case's own arrays, file and the runtime's observed
limits. The scenario judges any error by those facts, whoever wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos.input_contract import graphs, runtime
from demos.input_contract.facts import Fact, dtype, name, number

__all__ = ["CASES", "FEED_CASES", "LOAD_CASES", "Case", "LoadCase"]

#: A component type and a field no tokenizers release has: what a newer release's file holds.
FUTURE_MODEL_TYPE = "WordPieceV2"
FUTURE_FIELD = "future_option"

Call = tuple[dict[str, Any], list[str] | None, tuple[str, ...]]  # arrays, outputs, use_defaults
Arrays = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One mistake: which model, what goes wrong, how to make it, what it is.

    ``make(right)`` turns the right arrays into the mistaken call; ``facts(right, fed)``
    says what a clear error must name, from the right arrays and the ones fed.
    """

    model: str
    mistake: str
    facts: Callable[[Arrays, Arrays], tuple[Fact, ...]]
    make: Callable[[Arrays], Call]


@dataclass(frozen=True)
class LoadCase:
    """One file written for a newer runtime: what it is, how to write it, what it is.

    ``make(tokenizer_json)`` returns ``("model", bytes)`` or ``("tokenizer", text)``;
    ``facts()`` is computed from what this installation was *observed* to read.
    """

    model: str
    mistake: str
    facts: Callable[[], tuple[Fact, ...]]
    make: Callable[[str], tuple[str, Any]]


def _names(fed: str, meant: str | None = None) -> Callable[[Arrays, Arrays], tuple[Fact, ...]]:
    """A wrong name: the name fed, and the one meant if there is one."""
    return lambda right, got: (name("the name fed", fed),
                               *(() if meant is None else (name("the input meant", meant),)))


def _dtype(input_: str) -> Callable[[Arrays, Arrays], tuple[Fact, ...]]:
    """A wrong element type: the input, the type it declares, the type fed."""
    return lambda right, fed: (name("the input", input_),
                               dtype("the expected type", right[input_].dtype),
                               dtype("the received type", fed[input_].dtype))


def _rank(input_: str) -> Callable[[Arrays, Arrays], tuple[Fact, ...]]:
    """A wrong rank: the input, the rank it declares, the rank (or the shape) fed."""
    return lambda right, fed: (name("the input", input_),
                               number("the expected rank", right[input_].ndim),
                               number("the received rank", fed[input_].ndim, fed[input_].shape))


def _size(input_: str, axis: int) -> Callable[[Arrays, Arrays], tuple[Fact, ...]]:
    """A wrong size along ``axis``: the input, the size expected, the size fed."""
    return lambda right, fed: (name("the input", input_),
                               number("the expected size", right[input_].shape[axis]),
                               number("the received size", fed[input_].shape[axis]))


def _future_tokenizer(text: str, **model_changes: Any) -> tuple[str, Any]:
    data = json.loads(text)
    data["model"] = {**data["model"], **model_changes}
    return "tokenizer", json.dumps(data)


def _replace(arrays: dict[str, Any], **changes: Any) -> Call:
    return {**arrays, **changes}, None, ()


def _rename(arrays: dict[str, Any], old: str, new: str) -> Call:
    return {new if k == old else k: v for k, v in arrays.items()}, None, ()


FEED_CASES: dict[str, Case] = {
    "misspelt_name": Case("encoder", "feeds 'input_id' instead of 'input_ids'",
                          _names("input_id", "input_ids"),
                          lambda a: _rename(a, "input_ids", "input_id")),
    "extra_name": Case("encoder", "adds a 'position_ids' input the model does not have",
                       _names("position_ids"),
                       lambda a: _replace(a, position_ids=np.zeros_like(a["input_ids"]))),
    "int32_ids": Case("encoder", "passes input_ids as int32 instead of int64",
                      _dtype("input_ids"),
                      lambda a: _replace(a, input_ids=a["input_ids"].astype(np.int32))),
    "wrong_rank": Case("encoder", "passes one text's ids as a 1-D array", _rank("input_ids"),
                       lambda a: _replace(a, input_ids=a["input_ids"][0])),
    "sequence_mismatch": Case("encoder", "pads the mask to a different length than the ids",
                              _size("attention_mask", 1),
                              lambda a: _replace(a, attention_mask=np.pad(a["attention_mask"],
                                                                          ((0, 0), (0, 4))))),
    "batch_mismatch": Case("encoder", "passes the mask of the first text only",
                           _size("attention_mask", 0),
                           lambda a: _replace(a, attention_mask=a["attention_mask"][:1])),
    "mask_broadcast": Case("encoder", "passes a [batch, 1] mask of ones",
                           _size("attention_mask", 1),
                           lambda a: _replace(a, attention_mask=np.ones(
                               (len(a["input_ids"]), 1), np.int64))),
    "key_broadcast": Case("pair_scorer", "passes key as [batch, 1] instead of [batch, n]",
                          _size("key", 1), lambda a: _replace(a, key=a["key"][:, :1])),
    "wrong_fixed_dim": Case("span_head", "passes hidden vectors of width 3 instead of 4",
                            _size("hidden", 2),
                            lambda a: _replace(a, hidden=a["hidden"][..., :3])),
    "omitted_default": Case("temperature_classifier", "leaves out temperature (meant 0.5)",
                            lambda right, fed: (name("the input left out", "temperature"),),
                            lambda a: ({"logits": a["logits"]}, None, ())),
    # Asking for outputs in another order is no mistake at all: no error is clear here.
    "swapped_outputs": Case("span_head", "asks for end_logits first, start_logits second",
                            lambda right, fed: (),
                            lambda a: (a, ["end_logits", "start_logits"], ())),
}
#: Files written for a newer runtime than the installed one.
LOAD_CASES: dict[str, LoadCase] = {
    "ir_too_new": LoadCase(
        "onnx", "opens a model stamped with an IR version one above what onnxruntime reads",
        lambda: (number("the model's IR version", runtime.max_ir_version() + 1),
                 number("the highest IR version onnxruntime reads", runtime.max_ir_version())),
        lambda _: ("model", graphs.stamped(graphs.span_head(),
                                           ir_version=runtime.max_ir_version() + 1))),
    "opset_too_new": LoadCase(
        "onnx", "opens a model importing an ai.onnx opset one above what onnxruntime reads",
        lambda: (name("the operator domain", "ai.onnx"),
                 number("the model's opset", runtime.max_opset("") + 1),
                 number("the highest opset onnxruntime reads", runtime.max_opset(""))),
        lambda _: ("model", graphs.stamped(graphs.span_head(),
                                           opset=runtime.max_opset("") + 1))),
    "unknown_operator": LoadCase(
        "onnx", "opens a model using an onnxruntime-extensions operator",
        lambda: (name("the operator", "StringRegexReplace"),
                 name("its domain", "ai.onnx.contrib")),
        lambda _: ("model", graphs.needs_extension().SerializeToString())),
    "tokenizer_type_too_new": LoadCase(
        "tokenizer", f"opens a tokenizer.json whose model type is {FUTURE_MODEL_TYPE!r}",
        lambda: (name("the component", "model"), name("the unknown type", FUTURE_MODEL_TYPE)),
        lambda text: _future_tokenizer(text, type=FUTURE_MODEL_TYPE)),
    "tokenizer_field_too_new": LoadCase(
        "tokenizer", f"opens a tokenizer.json whose model has a field {FUTURE_FIELD!r}",
        lambda: (name("the unknown field", FUTURE_FIELD),),
        lambda text: _future_tokenizer(text, **{FUTURE_FIELD: True})),
}
CASES: dict[str, Case | LoadCase] = {**FEED_CASES, **LOAD_CASES}
