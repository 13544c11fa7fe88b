"""What an onnxruntime session declares about its inputs and outputs, as plain data.

:func:`read_signature` asks the session three questions once: ``get_inputs()`` (what you
must feed), ``get_overridable_initializers()`` (what you *may* feed, and what silently
keeps its default when you do not) and ``get_outputs()`` (what comes back, in graph
order). :class:`Signature` prints the answers as a table.

An initializer that is also a graph input is a default the caller may override from IR
version 4 on; before IR 4 the format required every weight to be listed among the inputs,
and onnxruntime reads those as constants, listing them in neither ``get_inputs()`` nor
``get_overridable_initializers()``. So the signature of an old model holds no defaults, and
a contract built on it neither asks for its weights nor refuses to run without them
(tested on an IR 3 model built with ``onnx.helper``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["ContractError", "Dim", "Signature", "TensorSpec", "read_signature"]

#: A dimension: a fixed size, a named dynamic size ("batch"), or None (dynamic, unnamed).
Dim = int | str | None
Kind = Literal["input", "default", "output"]

# onnxruntime's type strings → numpy dtypes (the types an encoder or a head can declare).
_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_, "tensor(string)": np.str_,
}


class ContractError(ValueError):
    """Raised when a feed or an output request does not match the model's contract."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One declared tensor.

    Attributes:
        name: the graph's name for it.
        dtype: its element type as a numpy dtype (``np.dtype("O")`` for types not mapped).
        shape: one :data:`Dim` per axis.
        kind: ``"input"`` (required), ``"default"`` (an overridable initializer: optional,
            with a value stored in the model) or ``"output"``.
    """

    name: str
    dtype: np.dtype[Any]
    shape: tuple[Dim, ...]
    kind: Kind

    @property
    def shape_text(self) -> str:
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"


@dataclass(frozen=True, slots=True)
class Signature:
    """A session's inputs, overridable initializers and outputs, in the session's order."""

    inputs: tuple[TensorSpec, ...]
    defaults: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def feedable(self) -> tuple[TensorSpec, ...]:
        """Everything a feed may name: required inputs, then overridable initializers."""
        return self.inputs + self.defaults

    def table(self) -> str:
        """A fixed-width table: kind, name, element type, shape, one row per tensor."""
        rows = [("kind", "name", "dtype", "shape")]
        rows += [(s.kind, s.name, str(s.dtype), s.shape_text)
                 for s in self.inputs + self.defaults + self.outputs]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _spec(node_arg: Any, kind: Kind) -> TensorSpec:
    dtype = np.dtype(_DTYPES.get(node_arg.type, object))
    shape = tuple(d if isinstance(d, int | str) else None for d in (node_arg.shape or ()))
    return TensorSpec(node_arg.name, dtype, shape, kind)


def read_signature(session: Any) -> Signature:
    """Read ``session``'s declared inputs, overridable initializers and outputs."""
    return Signature(
        inputs=tuple(_spec(a, "input") for a in session.get_inputs()),
        defaults=tuple(_spec(a, "default") for a in session.get_overridable_initializers()),
        outputs=tuple(_spec(a, "output") for a in session.get_outputs()),
    )
