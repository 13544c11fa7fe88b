"""What a clear error must name, and whether a message names it.

An error is clear when a reader can fix the mistake from it alone: it names *where* the
problem is (the input, the field, the operator) and *what* is wrong (the expected and the
received type, size or version). Each case of :mod:`.cases` declares those facts, computed
from its own data (the arrays it feeds, the file it writes, what the runtime was observed
to read), never as phrases copied from anybody's message: a fact is one token, such as
``input_ids``, ``int64``, ``25`` or ``WordPieceV2``.

:func:`facts_named` finds each fact in a message as a whole token, after removing what no
reader can act on: onnxruntime's status prefix (``[ONNXRuntimeError] : 2 : INVALID_ARGUMENT :``)
and C++ source locations (``model.cc:256``), whose digits would otherwise "name" a number.
Advice ("upgrade onnxruntime") is welcome in a message but is not a fact, so it is not
required.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto, helper

__all__ = ["Fact", "dtype", "facts_named", "name", "number", "readable"]

_STATUS = re.compile(r"\[ONNXRuntimeError\] : \d+ : \w+ : ")
_SOURCE = re.compile(r"\S+\.(?:cc|cpp|cxx|h|hpp|rs):\d+")


@dataclass(frozen=True)
class Fact:
    """One thing a clear message must name.

    Attributes:
        what: what it is, for a reader ("the input", "the received element type").
        spellings: the ways a message may write it, each one token; any one is enough
            (``int64`` or onnx's ``int64``; ``float32`` or onnx's ``float``).
    """

    what: str
    spellings: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.spellings or any(not s or any(c.isspace() for c in s)
                                     for s in self.spellings):
            raise ValueError(f"a fact is spelled as one or more single tokens, "
                             f"got {self.spellings!r} for {self.what!r}")

    def named_in(self, message: str) -> bool:
        """Whether ``message`` (already :func:`readable`) contains a spelling as a token."""
        return any(_token(s).search(message) for s in self.spellings)

    @property
    def value(self) -> str:
        return self.spellings[0]


def _token(spelling: str) -> re.Pattern[str]:
    """``spelling`` not inside a longer identifier or number: ``input_id`` is not found in
    ``input_ids``, ``14`` not in ``1.14`` or ``140``, ``ai.onnx`` not in ``ai.onnx.contrib``."""
    before = r"(?<![\w.])" if spelling[0].isdigit() else r"(?<!\w)"
    return re.compile(before + re.escape(spelling) + r"(?!\w|\.\w)")


def readable(message: str) -> str:
    """``message`` without onnxruntime's status prefix and C++ source locations."""
    return _SOURCE.sub(" ", _STATUS.sub("", message))


def facts_named(message: str, facts: Sequence[Fact]) -> tuple[tuple[Fact, bool], ...]:
    """Each fact, and whether ``message`` names it."""
    text = readable(message)
    return tuple((fact, fact.named_in(text)) for fact in facts)


def name(what: str, value: str) -> Fact:
    """A name: an input, a field, a domain, an operator, a type."""
    return Fact(what, (value,))


def number(what: str, value: int, *more: Any) -> Fact:
    """A number (a size, a rank, a version), or any of ``more`` spellings of the same thing
    (a rank may be named by the shape that has it)."""
    return Fact(what, (str(value), *(str(m).replace(" ", "") for m in more)))


def dtype(what: str, value: Any) -> Fact:
    """An element type, spelled as numpy (``float32``) or as onnx (``float``) names it."""
    numpy_name = np.dtype(value).name
    onnx_name = TensorProto.DataType.Name(helper.np_dtype_to_tensor_dtype(np.dtype(value)))
    return Fact(what, tuple(dict.fromkeys((numpy_name, onnx_name.lower()))))
