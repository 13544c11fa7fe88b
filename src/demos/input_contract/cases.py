"""The mistakes ``scenario.run`` makes: a feed gone wrong, or a file newer than the runtime.

A *feed* case (:class:`Case`) takes a correct call (feeds, the outputs wanted, and the answer
onnxruntime gives for it) and makes one mistake a real caller makes. A *load* case
(:class:`LoadCase`) is a file written for a newer runtime than the one installed (an IR
version, an opset, an operator, a tokenizer.json type or field it does not know), for the
implementation's ``open_session`` or ``open_tokenizer`` to open. Each case says what a clear
error must name, so the scenario can judge the error it gets without knowing the case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos.input_contract import graphs, runtime

__all__ = ["CASES", "FEED_CASES", "LOAD_CASES", "Case", "LoadCase"]

#: A component type and a field no tokenizers release has: what a newer release's file holds.
FUTURE_MODEL_TYPE = "WordPieceV2"
FUTURE_FIELD = "future_option"

Call = tuple[dict[str, Any], list[str] | None, tuple[str, ...]]  # arrays, outputs, use_defaults


@dataclass(frozen=True)
class Case:
    """One mistake: which model, what goes wrong, what a clear error must name."""

    model: str
    mistake: str
    must_name: tuple[str, ...]
    make: Callable[[dict[str, Any]], Call]


@dataclass(frozen=True)
class LoadCase:
    """One file written for a newer runtime: what it is, what a clear error must name.

    ``make(tokenizer_json)`` returns ``("model", bytes)`` or ``("tokenizer", text)``;
    ``must_name()`` is computed from what this installation was *observed* to read.
    """

    model: str
    mistake: str
    must_name: Callable[[], tuple[str, ...]]
    make: Callable[[str], tuple[str, Any]]


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
                          ("'input_id'", "input_ids"),
                          lambda a: _rename(a, "input_ids", "input_id")),
    "extra_name": Case("encoder", "adds a 'position_ids' input the model does not have",
                       ("position_ids",),
                       lambda a: _replace(a, position_ids=np.zeros_like(a["input_ids"]))),
    "int32_ids": Case("encoder", "passes input_ids as int32 instead of int64",
                      ("input_ids", "int32", "int64"),
                      lambda a: _replace(a, input_ids=a["input_ids"].astype(np.int32))),
    "wrong_rank": Case("encoder", "passes one text's ids as a 1-D array",
                       ("input_ids", "2"), lambda a: _replace(a, input_ids=a["input_ids"][0])),
    "sequence_mismatch": Case("encoder", "pads the mask to a different length than the ids",
                              ("attention_mask", "sequence"),
                              lambda a: _replace(a, attention_mask=np.pad(a["attention_mask"],
                                                                          ((0, 0), (0, 4))))),
    "batch_mismatch": Case("encoder", "passes the mask of the first text only",
                           ("attention_mask", "batch"),
                           lambda a: _replace(a, attention_mask=a["attention_mask"][:1])),
    "mask_broadcast": Case("encoder", "passes a [batch, 1] mask of ones",
                           ("attention_mask", "sequence"),
                           lambda a: _replace(a, attention_mask=np.ones(
                               (len(a["input_ids"]), 1), np.int64))),
    "key_broadcast": Case("pair_scorer", "passes key as [batch, 1] instead of [batch, n]",
                          ("key", "'n'"), lambda a: _replace(a, key=a["key"][:, :1])),
    "wrong_fixed_dim": Case("span_head", "passes hidden vectors of width 3 instead of 4",
                            ("hidden", "4", "3"),
                            lambda a: _replace(a, hidden=a["hidden"][..., :3])),
    "omitted_default": Case("temperature_classifier", "leaves out temperature (meant 0.5)",
                            ("temperature",),
                            lambda a: ({"logits": a["logits"]}, None, ())),
    "swapped_outputs": Case("span_head", "asks for end_logits first, start_logits second",
                            (), lambda a: (a, ["end_logits", "start_logits"], ())),
}
#: Files written for a newer runtime than the installed one.
LOAD_CASES: dict[str, LoadCase] = {
    "ir_too_new": LoadCase(
        "onnx", "opens a model stamped with an IR version one above what onnxruntime reads",
        lambda: (f"IR version {runtime.max_ir_version() + 1}",
                 f"up to IR version {runtime.max_ir_version()}", "upgrade onnxruntime"),
        lambda _: ("model", graphs.stamped(graphs.span_head(),
                                           ir_version=runtime.max_ir_version() + 1))),
    "opset_too_new": LoadCase(
        "onnx", "opens a model importing an ai.onnx opset one above what onnxruntime reads",
        lambda: (f"opset {runtime.max_opset('') + 1} of ai.onnx",
                 f"up to opset {runtime.max_opset('')}", "upgrade onnxruntime"),
        lambda _: ("model", graphs.stamped(graphs.span_head(),
                                           opset=runtime.max_opset("") + 1))),
    "unknown_operator": LoadCase(
        "onnx", "opens a model using an onnxruntime-extensions operator",
        lambda: ("ai.onnx.contrib:StringRegexReplace", "register_custom_ops_library"),
        lambda _: ("model", graphs.needs_extension().SerializeToString())),
    "tokenizer_type_too_new": LoadCase(
        "tokenizer", f"opens a tokenizer.json whose model type is {FUTURE_MODEL_TYPE!r}",
        lambda: (f"model type {FUTURE_MODEL_TYPE!r}", "upgrade tokenizers"),
        lambda text: _future_tokenizer(text, type=FUTURE_MODEL_TYPE)),
    "tokenizer_field_too_new": LoadCase(
        "tokenizer", f"opens a tokenizer.json whose model has a field {FUTURE_FIELD!r}",
        lambda: (f"model.{FUTURE_FIELD}", "upgrade tokenizers"),
        lambda text: _future_tokenizer(text, **{FUTURE_FIELD: True})),
}
CASES: dict[str, Case | LoadCase] = {**FEED_CASES, **LOAD_CASES}
