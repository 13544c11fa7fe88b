"""Feeding an onnxruntime session by its contract, read once from the session itself.

Every feed is checked against what the session declares *before* the run: names (with a
did-you-mean), element types (never cast silently), ranks, fixed sizes, dynamic sizes
shared between inputs, and overridable initializers left out. Outputs are asked for by
name, so they cannot come back in an order the caller did not expect. Models and tokenizer
files are checked against what the installed runtime reads before they are opened.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import tokenizers

from demos.input_contract.feed_checks import check_array, check_names, did_you_mean
from demos.input_contract.runtime import RuntimeMismatchError, check_model, check_tokenizer_json
from demos.input_contract.signature import ContractError, Signature, read_signature

__all__ = ["ContractError", "ModelContract", "RuntimeMismatchError", "open_session",
           "open_tokenizer"]


def open_session(model: bytes) -> ort.InferenceSession:
    """An onnxruntime CPU session for ``model``, a serialized ONNX model.

    Raises:
        RuntimeMismatchError: naming the model's IR version, opset or operator, what this
            onnxruntime reads, and what to upgrade.
        TypeError: if ``model`` is not bytes.
    """
    if not isinstance(model, bytes):
        raise TypeError(f"model must be bytes (a serialized ONNX model), "
                        f"got {type(model).__name__}")
    check_model(model)  # FIX: compare the model's versions with what this runtime reads, first
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def open_tokenizer(text: str) -> tokenizers.Tokenizer:
    """The tokenizer described by ``text``, the contents of a tokenizer.json.

    Raises:
        RuntimeMismatchError: for a format version, a component type or a field this
            tokenizers does not know, naming it and what to upgrade.
        TypeError: if ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the str contents of a tokenizer.json, "
                        f"got {type(text).__name__}")
    return check_tokenizer_json(text)  # FIX: refuse what this tokenizers would misread


class ModelContract:
    """A session and what it declares; builds its feeds and runs it, checking both.

    Args:
        session: an ``onnxruntime.InferenceSession`` (anything with ``get_inputs``,
            ``get_overridable_initializers``, ``get_outputs`` and ``run``).

    Raises:
        TypeError: if ``session`` does not look like an InferenceSession.

    Concurrency: read-only after construction; ``feeds`` and ``run`` are safe from any
    number of threads (``InferenceSession.run`` is) and block for one model call.
    """

    def __init__(self, session: Any) -> None:
        needed = ("get_inputs", "get_overridable_initializers", "get_outputs", "run")
        if not all(hasattr(session, attr) for attr in needed):  # FIX: refuse a non-session
            raise TypeError(f"session must be an onnxruntime.InferenceSession, "
                            f"got {type(session).__name__}")
        self.session = session
        self.signature: Signature = read_signature(session)

    def __str__(self) -> str:
        return self.signature.table()

    def feeds(
        self, arrays: Mapping[str, npt.ArrayLike], *, use_defaults: Collection[str] = ()
    ) -> dict[str, npt.NDArray[Any]]:
        """The feed dict for ``session.run``, checked against the contract.

        Args:
            arrays: one array per input name.
            use_defaults: overridable initializers you leave out *on purpose*, to take
                the value stored in the model.

        Raises:
            ContractError: naming the input, what the model expects and what it got.
            TypeError: if ``arrays`` is not a mapping or ``use_defaults`` is a string.
        """
        if not isinstance(arrays, Mapping):
            raise TypeError(f"arrays must be a mapping of input names to arrays, "
                            f"got {type(arrays).__name__}")
        if isinstance(use_defaults, str):
            raise TypeError(f"use_defaults must be a collection of names, got str {use_defaults!r}")
        check_names(self.signature, arrays, use_defaults)  # FIX: every name checked first
        feeds: dict[str, npt.NDArray[Any]] = {}
        bound: dict[str, tuple[str, int]] = {}  # dynamic dim name -> (first input, its size)
        for spec in self.signature.feedable:
            if spec.name in arrays:  # FIX: dtype, rank, fixed and shared sizes, before the run
                feeds[spec.name] = check_array(spec, np.asarray(arrays[spec.name]), bound)
        return feeds

    def run(
        self,
        arrays: Mapping[str, npt.ArrayLike],
        outputs: Sequence[str] | None = None,
        *,
        use_defaults: Collection[str] = (),
    ) -> dict[str, npt.NDArray[Any]]:
        """Run the model; return ``{output name: array}`` for ``outputs`` (default: all).

        Raises:
            ContractError: for a feed that breaks the contract or an unknown output name.
            TypeError: if ``outputs`` is a string rather than a sequence of names.
        """
        declared = [s.name for s in self.signature.outputs]
        if isinstance(outputs, str):
            raise TypeError(f"outputs must be a sequence of names, got str {outputs!r}")
        names = declared if outputs is None else list(outputs)
        for name in names:
            if name not in declared:
                raise ContractError(f"unknown output {name!r}{did_you_mean(name, declared)}; "
                                    f"expected outputs: {', '.join(declared)}")
        feeds = self.feeds(arrays, use_defaults=use_defaults)
        values = self.session.run(names, feeds)  # FIX: ask for outputs by name, in our order
        return dict(zip(names, values, strict=True))

