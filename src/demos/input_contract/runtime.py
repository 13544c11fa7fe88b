"""What the installed onnxruntime and tokenizers can read, observed by trying, and a check.

A model carries the versions it was written for: an IR version (the file format), one opset
per operator domain it imports, and the operators it uses. A ``tokenizer.json`` carries a
format version and the type of each component (model, normalizer, pre-tokenizer, ...). A
runtime older than the writer refuses such a file at load time, in its own words, or, for a
field it does not know inside a ``tokenizer.json`` component (the model, the normalizer, ...),
ignores it without a word (an unknown top-level key is refused, in serde's words).

onnxruntime has no Python call that says which IR version it reads (onnxruntime#14932), so
:func:`max_ir_version` and :func:`max_opset` *observe* it: they load tiny models of rising
versions until one is refused. :func:`check_model` and :func:`check_tokenizer_json` compare
a file with those observations before it is loaded, and raise one
:class:`RuntimeMismatchError` that names the file's version, the runtime's maximum and what
to upgrade.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import onnx
import onnxruntime as ort
import tokenizers
from onnx import TensorProto, helper

from demos.input_contract.signature import ContractError

__all__ = ["RuntimeMismatchError", "check_model", "check_tokenizer_json", "max_ir_version",
           "max_opset", "runtime_operators", "tokenizer_format", "tokenizer_types"]

#: Probing stops here: a runtime that loads version 64 of anything does not limit it.
PROBE_LIMIT = 64
#: The tokenizer.json components whose "type" names a class of the tokenizers package.
COMPONENTS = {"model": "models", "normalizer": "normalizers", "pre_tokenizer": "pre_tokenizers",
              "post_processor": "processors", "decoder": "decoders"}
_BASES = {"models": "Model", "normalizers": "Normalizer", "pre_tokenizers": "PreTokenizer",
          "processors": "PostProcessor", "decoders": "Decoder"}


class RuntimeMismatchError(ContractError):
    """A model or a tokenizer.json needs more than the installed runtime can read."""


def _probe(ir_version: int, domain: str, opset: int) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    imports = [helper.make_opsetid("", opset if domain == "" else 13)]
    if domain:
        imports.append(helper.make_opsetid(domain, opset))
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = ir_version
    return model.SerializeToString()


def _loads(data: bytes) -> bool:
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a refused probe is an answer, not news
    try:
        ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime's exception classes differ between releases
        return False
    return True


@functools.cache
def max_ir_version() -> int:
    """The highest model IR version this onnxruntime loads (found by loading tiny models)."""
    version = 7  # IR 7 (onnx 1.8, 2020): every onnxruntime this book supports reads it
    while version < PROBE_LIMIT and _loads(_probe(version + 1, "", 13)):
        version += 1
    return version


@functools.cache
def max_opset(domain: str = "") -> int | None:
    """The highest opset of ``domain`` ("" is ai.onnx) this onnxruntime loads; None if
    it loads any (it does not check that domain's opset)."""
    if _loads(_probe(7, domain, PROBE_LIMIT)):
        return None
    version = 1
    while _loads(_probe(7, domain, version + 1)):
        version += 1
    return version


@functools.cache
def runtime_operators() -> frozenset[tuple[str, str]] | None:
    """``(domain, op_type)`` of every operator onnxruntime has a schema for ("" is ai.onnx);
    None if this build does not expose its schemas."""
    schemas = getattr(ort.capi._pybind_state, "get_all_operator_schema", None)
    if schemas is None:
        return None
    return frozenset((s.domain, s.name) for s in schemas())


def _domain(name: str) -> str:
    return "" if name == "ai.onnx" else name


def _writer_of_ir(ir_version: int) -> str:
    """"onnx ≥ 1.17.0" for the first onnx release that writes ``ir_version`` (onnx's table)."""
    for release, ir, *_ in helper.VERSION_TABLE:
        if ir >= ir_version:
            return f"onnx >= {release}"
    return f"an onnx newer than {onnx.__version__}"


def check_model(model: onnx.ModelProto | bytes) -> None:
    """Raise :class:`RuntimeMismatchError` if this onnxruntime cannot load ``model``."""
    if isinstance(model, bytes):
        model = onnx.load_model_from_string(model)
    runtime = f"onnxruntime {ort.__version__}"
    problems, upgrade = [], False
    if model.ir_version > (ir_max := max_ir_version()):
        problems.append(f"the model has IR version {model.ir_version} (written by "
                        f"{_writer_of_ir(model.ir_version)}); {runtime} reads up to IR "
                        f"version {ir_max}")
        upgrade = True
    for opset in model.opset_import:
        limit = max_opset(opset.domain)
        if limit is not None and opset.version > limit:
            problems.append(f"the model imports opset {opset.version} of "
                            f"{opset.domain or 'ai.onnx'}; {runtime} reads up to opset {limit}")
            upgrade = True
    known = {(_domain(d), o) for d, o in runtime_operators() or ()}
    local = {(_domain(f.domain), f.name) for f in model.functions}
    missing = sorted({(n.domain, n.op_type) for n in model.graph.node
                      if known and (_domain(n.domain), n.op_type) not in known | local})
    if missing:
        names = ", ".join(f"{d or 'ai.onnx'}:{o}" for d, o in missing)
        problems.append(f"the model uses {names}, which {runtime} does not implement")
    if not problems:
        return
    advice = []
    if upgrade:
        advice.append(f"upgrade onnxruntime, or re-export the model for IR version "
                      f"{ir_max} and opset {max_opset('')}")
    if missing:
        advice.append("register the library that implements it "
                      "(SessionOptions.register_custom_ops_library)")
    raise RuntimeMismatchError("; ".join(problems) + ": " + "; or ".join(advice))


@functools.cache
def tokenizer_format() -> str:
    """The tokenizer.json format version this tokenizers writes (observed by writing one)."""
    tiny = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    return str(json.loads(tiny.to_str())["version"])


@functools.cache
def tokenizer_types() -> dict[str, frozenset[str]]:
    """Per tokenizer.json component, the types this tokenizers has classes for."""
    found = {}
    for component, module_name in COMPONENTS.items():
        module = getattr(tokenizers, module_name)
        base = getattr(module, _BASES[module_name])
        found[component] = frozenset(
            name for name, c in vars(module).items()
            if isinstance(c, type) and issubclass(c, base) and c is not base)
    return found


def _types(node: Any) -> list[str]:
    """The "type" of a component and of every step of a Sequence inside it."""
    if not isinstance(node, dict):
        return []
    found = [node["type"]] if isinstance(node.get("type"), str) else []
    for value in node.values():
        if isinstance(value, list):
            found += [t for item in value for t in _types(item)]
    return found


def _paths(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, list):
        return {p for i, item in enumerate(node) for p in _paths(item, f"{prefix}[{i}]")}
    if not isinstance(node, dict):
        return set()
    out = set()
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        out.add(path)
        if key != "vocab":  # the vocabulary's keys are tokens, not fields
            out |= _paths(value, path)
    return out


def check_tokenizer_json(text: str) -> tokenizers.Tokenizer:
    """The tokenizer in ``text``, or :class:`RuntimeMismatchError` if this tokenizers
    cannot read all of it: an unknown format version or component type, a load error, or
    a field it would drop without a word (found by writing the tokenizer back)."""
    data = json.loads(text)
    runtime, upgrade = f"tokenizers {tokenizers.__version__}", "upgrade tokenizers"
    problems = []
    if "version" in data and str(data["version"]) != tokenizer_format():
        problems.append(f"format version {data['version']!r}; {runtime} writes "
                        f"{tokenizer_format()!r}")
    for component, known in tokenizer_types().items():
        for kind in _types(data.get(component)):
            if kind not in known:
                problems.append(f"{component} type {kind!r}; {runtime} knows "
                                f"{', '.join(sorted(known))}")
    if problems:
        raise RuntimeMismatchError(f"tokenizer.json has {'; '.join(problems)}: it was written "
                                   f"by a newer tokenizers; {upgrade}")
    try:
        tokenizer = tokenizers.Tokenizer.from_str(text)
    except Exception as error:  # tokenizers raises a bare Exception
        raise RuntimeMismatchError(f"{runtime} cannot read this tokenizer.json ({error}): "
                                   f"{upgrade}") from error
    dropped = sorted(_paths(data) - _paths(json.loads(tokenizer.to_str())))
    if dropped:
        raise RuntimeMismatchError(f"tokenizer.json has fields {runtime} ignores: "
                                   f"{', '.join(dropped)}: it was written by a newer "
                                   f"tokenizers; {upgrade}")
    return tokenizer
