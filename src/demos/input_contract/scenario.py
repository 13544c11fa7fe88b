"""Drive a ModelContract through a catalogue of mistakes and judge each outcome.

The mistakes are the cases of :mod:`demos.input_contract.cases`: a *feed* case makes one
mistake a real caller makes in a correct call; a *load* case opens a file written for a
newer runtime than the one installed with the implementation's ``open_session`` or
``open_tokenizer``. The outcome is one of:

* ``"clear error"``: the contract's own error (a ``ContractError``), whose message names
  every fact the case declares (:mod:`demos.input_contract.facts`);
* ``"named by runtime"``: onnxruntime (or tokenizers) raised, and its message names every
  fact too, but not through the contract: its words, its exception type, possibly after
  the run started;
* ``"unclear error"``: it raised, but the message leaves out a fact (which input or field,
  the expected or the received value, a version);
* ``"silent wrong"``: it returned, and the result differs from the right one (for a load
  case: it opened a file it cannot fully read);
* ``"correct"``: it returned the right result anyway (a fixed contract asks by name).

The pitfall *manifests* when any mistake ends silent or unclear.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from demos import knobs
from demos.harness import bounded
from demos.input_contract import broken, fixed, graphs
from demos.input_contract.cases import CASES, FEED_CASES, LOAD_CASES, LoadCase
from demos.input_contract.facts import Fact, facts_named
from demos.input_contract.native_log import capture_native_stderr
from demos.input_contract.signature import ContractError
from demos.report import Report

__all__ = ["CASES", "FEED_CASES", "LOAD_CASES", "TEXTS", "VERDICTS", "Attempt", "attempt",
           "bench", "run", "verdict_of"]

#: Three texts of different lengths, so that the batch is padded and the mask matters.
TEXTS = ("A cat sat on the mat.", "Padding tokens must never count.",
         "The attention mask tells the model which positions are real words and which are "
         "padding added to make the batch rectangular.")
CALL_TIMEOUT_S = 60.0
MODELS = ("real", "tiny")
VERDICTS = ("silent wrong", "unclear error", "named by runtime", "clear error", "correct")


@dataclass(frozen=True)
class Attempt:
    """What one mistake led to with one implementation."""

    case: str
    verdict: str
    message: str  # the error's text, or "" when it returned
    max_abs_diff: float  # between returned and right outputs; nan when it raised
    native_log: str = ""  # what onnxruntime's C++ logger wrote to stderr meanwhile
    facts: tuple[tuple[Fact, bool], ...] = ()  # what a clear error names; was it named


@functools.cache
def _encoder(model: str) -> Any:
    from demos.models import load_encoder, tiny_encoder

    return load_encoder() if model == "real" else tiny_encoder()


@functools.cache
def _setup(model: str, which: str) -> tuple[Any, dict[str, Any]]:
    """A session and the right arrays for it (cached: sessions are read-only)."""
    rng = np.random.default_rng(0)
    if which == "encoder":
        encoder = _encoder(model)
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


def verdict_of(error: BaseException, facts: Sequence[Fact],
               own: type[BaseException] = ContractError) -> str:
    """How clear an error is, by the facts it names: every fact named, by the contract's own
    type, is a "clear error"; by another type, "named by runtime"; a fact missing (or no
    fact to name: the case wanted a result) is an "unclear error"."""
    named = facts_named(str(error), facts)
    if not named or not all(found for _, found in named):
        return "unclear error"
    return "clear error" if isinstance(error, own) else "named by runtime"


def _raised(case: str, error: BaseException, facts: Sequence[Fact],
            own: type[BaseException], log: str) -> Attempt:
    return Attempt(case, verdict_of(error, facts, own), str(error).strip(), float("nan"), log,
                   facts_named(str(error), facts))


def attempt(impl: ModuleType, case: str, *, model: str = "real",
            timeout_s: float = CALL_TIMEOUT_S) -> Attempt:
    """Make mistake ``case`` through ``impl`` and judge what came back (each call bounded
    by ``timeout_s``)."""
    knobs.choice("case", case, CASES)
    knobs.choice("model", model, MODELS)
    timeout_s = knobs.seconds("timeout_s", timeout_s)
    spec = CASES[case]
    own = getattr(impl, "ContractError", ContractError)
    if isinstance(spec, LoadCase):
        encoder = _encoder(model)
        kind, data = spec.make(encoder.tokenizer_json)
        opener = impl.open_session if kind == "model" else impl.open_tokenizer
        with capture_native_stderr() as log:
            outcome = bounded(opener, timeout_s, data, name=f"input-contract-{case}")
        if outcome.status == "raised":
            return _raised(case, outcome.error, spec.facts(), own, log.text)
        outcome.unwrap()
        return Attempt(case, "silent wrong", "", float("nan"), log.text)
    session, right = _setup(model, spec.model)
    arrays, outputs, use_defaults = spec.make(dict(right))
    names = [o.name for o in session.get_outputs()] if outputs is None else outputs
    expected = dict(zip(names, session.run(names, right), strict=True))
    contract = impl.ModelContract(session)
    with capture_native_stderr() as log:  # onnxruntime also logs run errors to fd 2
        outcome = bounded(contract.run, timeout_s, arrays, outputs,
                          use_defaults=use_defaults, name=f"input-contract-{case}")
    if outcome.status == "raised":
        return _raised(case, outcome.error, spec.facts(right, arrays), own, log.text)
    got = outcome.unwrap()
    diff = max(float(np.max(np.abs(got[k] - expected[k]))) if got[k].shape == expected[k].shape
               else float("inf") for k in names)
    return Attempt(case, "correct" if diff <= 1e-5 else "silent wrong", "", diff, log.text)


def run(impl: ModuleType, *, case: str = "all", model: str = "real",
        timeout_s: float = CALL_TIMEOUT_S) -> Report:
    """Make one mistake (``case``) or every mistake in :data:`CASES` (``"all"``).

    Args:
        impl: a module with ``ModelContract``, ``open_session`` and ``open_tokenizer``
            (broken, fixed, or your own; a load case needs only its opener).
        case: a key of :data:`CASES`, ``"all"``, ``"feeds"`` (the feed cases) or
            ``"loads"`` (the load cases).
        model: ``"real"`` (all-MiniLM-L6-v2) or ``"tiny"`` (random tiny BERT) for the
            encoder cases; the other cases use the small graphs in :mod:`.graphs`.
        timeout_s: the bound on each call; a call that does not return in time raises.
    """
    groups = {"all": list(CASES), "feeds": list(FEED_CASES),
              "loads": list(LOAD_CASES)}
    knobs.choice("case", case, [*groups, *CASES])
    names = groups.get(case, [case])
    attempts = [attempt(impl, name, model=model, timeout_s=timeout_s) for name in names]
    bad = [a for a in attempts if a.verdict in ("silent wrong", "unclear error")]
    counts = {v: sum(a.verdict == v for a in attempts) for v in VERDICTS}
    if case in groups:
        headline = (f"{counts['silent wrong']} of {len(attempts)} mistakes went silent, "
                    f"{counts['unclear error']} raised errors that leave out a fact (the input, "
                    f"field or value at fault)")
        metrics: dict[str, Any] = {a.case: a.verdict for a in attempts}
    else:
        only = attempts[0]
        headline = f"{CASES[case].mistake}: {only.verdict}"
        metrics = {"verdict": only.verdict, "max_abs_diff": only.max_abs_diff,
                   "message": only.message.splitlines()[0][:200] if only.message else ""}
    metrics.update({k.replace(" ", "_"): v for k, v in counts.items()})
    return Report("input_contract", knobs.impl_name(impl), bool(bad), headline, metrics)


def bench(*, model: str = "real", repeats: int = 30) -> dict[str, Any]:
    """What the checks cost: median seconds of fixed and broken ``run``, interleaved, and
    their ratio (fixed / broken) on the same feeds."""
    knobs.integer("repeats", repeats)
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
