"""What this onnxruntime and this tokenizers do with the mistakes chapter 5 shows, observed.

Each probe builds a tiny model or tokenizer, makes the mistake and reports what happened in
a few stable words (no C++ paths, no line numbers), for ``demos.compat`` and the book's
"What changed when" table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
import tokenizers
from onnx import TensorProto, helper

from demos.input_contract import graphs, runtime
from demos.input_contract.native_log import capture_native_stderr

__all__ = ["PROBES", "observe"]

PROBES: dict[str, str] = {
    "int32_ids": "Feeding int32 to an int64 input: does the error name the input?",
    "omitted_default": "Leaving out an overridable initializer: error, or its stored default?",
    "shared_dim_mismatch": "Two inputs disagreeing on a shared dynamic dimension: where does "
                           "it fail?",
    "max_ir_version": "The newest model IR version this onnxruntime loads, and its words "
                      "for the next one.",
    "max_opset": "The newest ai.onnx opset this onnxruntime loads, and its words for the "
                 "next one.",
    "unknown_operator": "A model using an operator from a domain onnxruntime lacks "
                        "(ai.onnx.contrib).",
    "tokenizer_unknown_type": "A tokenizer.json whose model type this tokenizers does not "
                              "know.",
    "tokenizer_unknown_field": "A tokenizer.json whose model has a field this tokenizers "
                               "does not know.",
}


def _error(call: Callable[[], object]) -> str | None:
    try:
        call()
    except Exception as error:  # the probe reports whatever was raised
        return str(error)
    return None


def _id_model() -> ort.InferenceSession:
    graph = helper.make_graph(
        [helper.make_node("Add", ["input_ids", "offset"], ["shifted"])], "ids",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
         for n in ("input_ids", "offset")],
        [helper.make_tensor_value_info("shifted", TensorProto.INT64, ["batch", "sequence"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return graphs.session(model)


def _int32_ids() -> str:
    ids = np.ones((2, 3), np.int64)
    message = _error(lambda: _id_model().run(None, {"input_ids": ids.astype(np.int32),
                                                     "offset": ids}))
    if message is None:
        return "accepted int32 (cast silently)"
    named = "names the input" if "input_ids" in message else "does not name the input"
    types = "tensor(int32)" if "tensor(int32)" in message else "other type names"
    return f"raises, {named}, says {types}"


def _omitted_default() -> str:
    session = graphs.session(graphs.temperature_classifier())
    message = _error(lambda: session.run(None, {"logits": np.zeros((1, 3), np.float32)}))
    return "runs with the stored default, no error" if message is None else "raises"


def _shared_dim() -> str:
    ids = np.ones((2, 3), np.int64)
    message = _error(lambda: _id_model().run(None, {"input_ids": ids,
                                                     "offset": np.ones((2, 4), np.int64)}))
    if message is None:
        return "runs (broadcasts)"
    if "node" in message.lower():
        return "fails inside an operator (a node name, not an input)"
    return "refused before the run"


def _first_words(message: str | None, pattern: str) -> str:
    if message is None:
        return "loads"
    found = re.search(pattern, message)
    return f"'{found.group(0)}'" if found else "another message"


def _max_ir() -> str:
    top = runtime.max_ir_version()
    message = _error(lambda: _open(graphs.stamped(graphs.span_head(), ir_version=top + 1)))
    return f"loads IR {top}; IR {top + 1}: {_first_words(message, r'Unsupported model IR[^,]*')}"


def _max_opset() -> str:
    top = runtime.max_opset("")
    message = _error(lambda: _open(graphs.stamped(graphs.span_head(), opset=top + 1)))
    words = _first_words(message, r"is under development|not support|[Uu]nsupported")
    return f"loads opset {top}; opset {top + 1}: {words}"


def _open(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _unknown_operator() -> str:
    message = _error(lambda: graphs.session(graphs.needs_extension()))
    return f"refused at load: {_first_words(message, r'is not a registered function/op')}"


def _tiny_tokenizer_json() -> dict[str, Any]:
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3, "world": 4}
    tok = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    return json.loads(tok.to_str())


def _tokenizer_type() -> str:
    data = _tiny_tokenizer_json()
    data["model"]["type"] = "WordPieceV2"
    message = _error(lambda: tokenizers.Tokenizer.from_str(json.dumps(data)))
    words = _first_words(message, r"data did not match any variant of [^ ]+ enum [A-Za-z]+")
    return f"raises {words}"


def _tokenizer_field() -> str:
    data = _tiny_tokenizer_json()
    data["model"]["future_option"] = True
    message = _error(lambda: tokenizers.Tokenizer.from_str(json.dumps(data)))
    return "loads, the field dropped silently" if message is None else "raises"


def observe() -> dict[str, str]:
    """Probe id → the behaviour seen on this installation."""
    with capture_native_stderr():  # onnxruntime logs failed runs to fd 2 as well
        return {"int32_ids": _int32_ids(), "omitted_default": _omitted_default(),
                "shared_dim_mismatch": _shared_dim(), "max_ir_version": _max_ir(),
                "max_opset": _max_opset(), "unknown_operator": _unknown_operator(),
                "tokenizer_unknown_type": _tokenizer_type(),
                "tokenizer_unknown_field": _tokenizer_field()}
