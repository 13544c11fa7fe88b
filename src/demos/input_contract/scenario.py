"""Drive a ModelContract through a catalogue of feeding mistakes and judge each outcome.

Each case takes a correct call (feeds, the outputs wanted, and the answer onnxruntime gives
for it) and makes one mistake a real caller makes. The outcome is one of:

* ``"clear error"``: it raised, and the message names what a reader needs to fix it;
* ``"unclear error"``: it raised, but the message does not name the problem;
* ``"silent wrong"``: it returned, and the result differs from the right one;
* ``"correct"``: it returned the right result anyway (a fixed contract asks by name).

The pitfall *manifests* when any mistake ends silent or unclear.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from demos.harness import bounded
from demos.input_contract import broken, fixed, graphs
from demos.input_contract.native_log import capture_native_stderr
from demos.report import Report

__all__ = ["CASES", "TEXTS", "Attempt", "Case", "attempt", "bench", "run"]

#: Three texts of different lengths, so that the batch is padded and the mask matters.
TEXTS = ("A cat sat on the mat.", "Padding tokens must never count.",
         "The attention mask tells the model which positions are real words and which are "
         "padding added to make the batch rectangular.")
CALL_TIMEOUT_S = 60.0
MODELS = ("real", "tiny")

Call = tuple[dict[str, Any], list[str] | None, tuple[str, ...]]  # arrays, outputs, use_defaults


@dataclass(frozen=True)
class Case:
    """One mistake: which model, what goes wrong, what a clear error must name."""

    model: str
    mistake: str
    must_name: tuple[str, ...]
    make: Callable[[dict[str, Any]], Call]


def _replace(arrays: dict[str, Any], **changes: Any) -> Call:
    return {**arrays, **changes}, None, ()


def _rename(arrays: dict[str, Any], old: str, new: str) -> Call:
    return {new if k == old else k: v for k, v in arrays.items()}, None, ()


CASES: dict[str, Case] = {
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


@dataclass(frozen=True)
class Attempt:
    """What one mistake led to with one implementation."""

    case: str
    verdict: str
    message: str  # the error's text, or "" when it returned
    max_abs_diff: float  # between returned and right outputs; nan when it raised
    native_log: str = ""  # what onnxruntime's C++ logger wrote to stderr meanwhile


@functools.cache
def _setup(model: str, which: str) -> tuple[Any, dict[str, Any]]:
    """A session and the right arrays for it (cached: sessions are read-only)."""
    rng = np.random.default_rng(0)
    if which == "encoder":
        from demos.models import load_encoder, tiny_encoder

        encoder = load_encoder() if model == "real" else tiny_encoder()
        return encoder.session, encoder.feeds(list(TEXTS))
    if which == "temperature_classifier":
        arrays = {"logits": rng.normal(size=(4, 3)).astype(np.float32),
                  "temperature": np.array(0.5, np.float32)}
    elif which == "span_head":
        arrays = {"hidden": rng.normal(size=(2, 5, 4)).astype(np.float32)}
    else:
        arrays = {"query": rng.normal(size=(3, 6)).astype(np.float32),
                  "key": rng.normal(size=(3, 6)).astype(np.float32)}
    return graphs.session(getattr(graphs, which)()), arrays


def attempt(impl: ModuleType, case: str, *, model: str = "real") -> Attempt:
    """Make mistake ``case`` through ``impl.ModelContract`` and judge what came back."""
    if case not in CASES:
        raise ValueError(f"case must be one of {', '.join(CASES)}, got {case!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    spec = CASES[case]
    session, right = _setup(model, spec.model)
    arrays, outputs, use_defaults = spec.make(dict(right))
    names = [o.name for o in session.get_outputs()] if outputs is None else outputs
    expected = dict(zip(names, session.run(names, right), strict=True))
    contract = impl.ModelContract(session)
    with capture_native_stderr() as log:  # onnxruntime also logs run errors to fd 2
        outcome = bounded(contract.run, CALL_TIMEOUT_S, arrays, outputs,
                          use_defaults=use_defaults, name=f"input-contract-{case}")
    if outcome.status == "raised":
        message = str(outcome.error).strip()
        clear = all(fragment in message for fragment in spec.must_name)
        return Attempt(case, "clear error" if clear else "unclear error", message, float("nan"),
                       log.text)
    got = outcome.unwrap()
    diff = max(float(np.max(np.abs(got[k] - expected[k]))) if got[k].shape == expected[k].shape
               else float("inf") for k in names)
    return Attempt(case, "correct" if diff <= 1e-5 else "silent wrong", "", diff, log.text)


def run(impl: ModuleType, *, case: str = "all", model: str = "real") -> Report:
    """Make one mistake (``case``) or every mistake in :data:`CASES` (``"all"``).

    Args:
        impl: a module with a ``ModelContract`` class (broken, fixed, or your own).
        case: a key of :data:`CASES`, or ``"all"``.
        model: ``"real"`` (all-MiniLM-L6-v2) or ``"tiny"`` (random tiny BERT) for the
            encoder cases; the other cases use the small graphs in :mod:`.graphs`.
    """
    names = list(CASES) if case == "all" else [case]
    attempts = [attempt(impl, name, model=model) for name in names]
    bad = [a for a in attempts if a.verdict in ("silent wrong", "unclear error")]
    counts = {v: sum(a.verdict == v for a in attempts)
              for v in ("silent wrong", "unclear error", "clear error", "correct")}
    if case == "all":
        headline = (f"{counts['silent wrong']} of {len(attempts)} mistakes went silent, "
                    f"{counts['unclear error']} raised errors that do not name the problem")
        metrics: dict[str, Any] = {a.case: a.verdict for a in attempts}
    else:
        only = attempts[0]
        headline = f"{CASES[case].mistake}: {only.verdict}"
        metrics = {"verdict": only.verdict, "max_abs_diff": only.max_abs_diff,
                   "message": only.message.splitlines()[0][:200] if only.message else ""}
    metrics.update({k.replace(" ", "_"): v for k, v in counts.items()})
    label = getattr(impl, "NAME", None) or getattr(impl, "__name__", "yours").rsplit(".", 1)[-1]
    return Report("input_contract", label, bool(bad), headline, metrics)


def bench(*, model: str = "real", repeats: int = 30) -> dict[str, Any]:
    """What the checks cost: median seconds of fixed and broken ``run``, interleaved, and
    their ratio (fixed / broken) on the same feeds."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    session, feeds = _setup(model, "encoder")
    contracts = {"broken": broken.ModelContract(session), "fixed": fixed.ModelContract(session)}
    times: dict[str, list[float]] = {name: [] for name in contracts}
    for _ in range(repeats):
        for name, contract in contracts.items():
            start = time.perf_counter()
            contract.run(feeds, ["sentence_embedding"])
            times[name].append(time.perf_counter() - start)
    medians = {f"{name}_median_s": float(np.median(t)) for name, t in times.items()}
    return {**medians, "fixed_over_broken": medians["fixed_median_s"] / medians["broken_median_s"],
            "model": model, "repeats": repeats}
