"""The service's knobs, in one validated, JSON-serialisable value.

A server process gets its :class:`Settings` from the ``DEMOS_SERVICE`` environment variable
(:func:`from_env`), so the test or the reader that starts it chooses them without code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["ENV_VAR", "IMPLS", "MODELS", "Settings", "from_env", "to_env"]

#: The environment variable a server process reads its implementation and settings from.
ENV_VAR = "DEMOS_SERVICE"
IMPLS = ("broken", "fixed")
#: "real": all-MiniLM-L6-v2; "tiny": the random-weight tiny BERT, for plumbing tests.
MODELS = ("real", "tiny")


@dataclass(frozen=True)
class Settings:
    """What one service instance does; every field is checked on construction.

    Attributes:
        model: "real" (all-MiniLM-L6-v2) or "tiny" (random weights, same tokenizer).
        max_batch: most texts per model call.
        max_wait_s: how long the fixed batcher lets a text be passed over for shorter ones.
        max_queue: most texts admitted and not yet answered; beyond it, 503 + Retry-After.
        max_inputs: most texts in one request.
        max_chars: most characters in one text (before tokenizing it).
        deadline_s: a request's bound from admission to answer (504 past it).
        drain_s: after SIGTERM, how long in-flight requests get before the process exits.
        drain_quiet_s: during that drain, once nothing is in flight, how long no new request
            must have come (each gets its 503) before the process exits: a load balancer
            keeps sending for a while after readiness says 503, and a closed port would
            drop what it sends.
        intra_op_threads: onnxruntime threads per model call.
        warmup_gate: a file path; if set, the warm-up waits (bounded) until it exists.
        request_gate: a file path; if set, each request waits (bounded) there after its
            options are applied and before it is tokenized: the place where a real
            request reads the rest of its body. Tests use it to hold requests by
            construction.
        gate_bound_s: the bound on either gate's wait.
        fault_text: a planted fault for tests: a batch holding this text (lowercase words,
            as the tokenizer decodes it) makes the model raise. Empty: none.
    """

    model: str = "real"
    max_batch: int = 32
    max_wait_s: float = 0.005
    max_queue: int = 1024
    max_inputs: int = 2048
    max_chars: int = 100_000
    deadline_s: float = 30.0
    drain_s: float = 10.0
    drain_quiet_s: float = 0.25
    intra_op_threads: int = 1
    warmup_gate: str = ""
    request_gate: str = ""
    gate_bound_s: float = 30.0
    fault_text: str = ""

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        for name in ("max_batch", "max_queue", "max_inputs", "max_chars", "intra_op_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("max_wait_s", "deadline_s", "drain_s", "drain_quiet_s", "gate_bound_s"):
            value = getattr(self, name)
            zero = name in ("max_wait_s", "drain_quiet_s")  # may be 0
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < float("inf") or (not zero and value == 0):
                raise ValueError(f"{name} must be a finite number {'>=' if zero else '>'} 0, "
                                 f"got {value!r}")
        for name in ("warmup_gate", "request_gate", "fault_text"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a str (or empty), "
                                 f"got {getattr(self, name)!r}")


def to_env(impl: str, settings: Settings) -> str:
    """The ``DEMOS_SERVICE`` value that makes a server process serve ``impl`` with these."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    return json.dumps({"impl": impl, **asdict(settings)})


def from_env(environ: dict[str, str] | None = None) -> tuple[str, Settings]:
    """``(impl, settings)`` from ``DEMOS_SERVICE`` (absent: the fixed service, defaults)."""
    text = (os.environ if environ is None else environ).get(ENV_VAR, "")
    data: dict[str, Any] = json.loads(text) if text else {}
    impl = data.pop("impl", "fixed")
    if impl not in IMPLS:
        raise ValueError(f"{ENV_VAR}: impl must be one of {IMPLS}, got {impl!r}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{ENV_VAR}: unknown settings {unknown}; expected some of {sorted(known)}")
    return impl, Settings(**data)
