"""Feeding an onnxruntime session the obvious way: pass what you have, unpack what comes back.

Every name and array goes to ``session.run`` as given, so onnxruntime is the only check,
and outputs are asked for with ``None`` (all of them, in graph order) and paired with the
names the caller expects by position. Models and tokenizer files are opened as they come,
so a file written by a newer exporter meets the runtime's own load error, or none (an
unknown field inside a tokenizer.json component is dropped without a word).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import tokenizers

from demos.input_contract.runtime import RuntimeMismatchError
from demos.input_contract.signature import ContractError, Signature, read_signature

__all__ = ["ContractError", "ModelContract", "RuntimeMismatchError", "open_session",
           "open_tokenizer"]


def open_session(model: bytes) -> ort.InferenceSession:
    """An onnxruntime CPU session for ``model``, a serialized ONNX model."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # PITFALL: a model newer than this runtime is first noticed by onnxruntime's load error
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def open_tokenizer(text: str) -> tokenizers.Tokenizer:
    """The tokenizer described by ``text``, the contents of a tokenizer.json."""
    # PITFALL: an unknown type fails in serde's words; a component's unknown field is dropped
    return tokenizers.Tokenizer.from_str(text)


class ModelContract:
    """A session and what it declares; builds its feeds and runs it.

    Args:
        session: an ``onnxruntime.InferenceSession`` (anything with ``get_inputs``,
            ``get_overridable_initializers``, ``get_outputs`` and ``run``).

    Concurrency: read-only after construction; ``feeds`` and ``run`` are safe from any
    number of threads (``InferenceSession.run`` is) and block for one model call.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.signature: Signature = read_signature(session)

    def __str__(self) -> str:
        return self.signature.table()

    def feeds(
        self, arrays: Mapping[str, npt.ArrayLike], *, use_defaults: Collection[str] = ()
    ) -> dict[str, npt.NDArray[Any]]:
        """The feed dict for ``session.run``: one numpy array per name in ``arrays``."""
        # PITFALL: any name, dtype and shape goes through; whatever is left out takes its default
        return {name: np.asarray(value) for name, value in arrays.items()}

    def run(
        self,
        arrays: Mapping[str, npt.ArrayLike],
        outputs: Sequence[str] | None = None,
        *,
        use_defaults: Collection[str] = (),
    ) -> dict[str, npt.NDArray[Any]]:
        """Run the model; return ``{output name: array}`` for ``outputs`` (default: all)."""
        names = [s.name for s in self.signature.outputs] if outputs is None else list(outputs)
        values = self.session.run(None, self.feeds(arrays, use_defaults=use_defaults))
        # PITFALL: None returns the graph's order, paired here with the caller's order
        return dict(zip(names, values, strict=False))
