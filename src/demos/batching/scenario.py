"""Put a micro-batcher in seven situations that hang a naive one; catch every hang.

``run(impl, **knobs) -> Report`` runs each case of :data:`CASES` under
:func:`demos.harness.bounded`: a hang is caught at ``timeout_s`` and whatever it left
blocked (a pool worker, the event loop) is unblocked, so nothing keeps running. ``bench()``
measures the first fix and the fixed batcher against unbatched calls and an ideal offline
batch on the real encoder, on short and long-tail texts (see :mod:`demos.batching.perf`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from demos import knobs
from demos.batching._cases import CASES, Knobs, Tally, double
from demos.harness import Outcome, bounded
from demos.report import Report

__all__ = ["CASES", "CaseResult", "bench", "run", "run_case", "timeline_of"]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: the bounded outcome, what the clients saw, and the whole wall time."""

    name: str
    outcome: Outcome[Any]
    tally: Tally
    wall_s: float  # bound + unblocking + cleanup: what a caller of run() waited

    @property
    def failed(self) -> bool:
        """Hung, lost or mixed up a request, or could not be cleaned up."""
        t = self.tally
        return (self.outcome.hung or self.outcome.status == "raised" or t.lost > 0
                or t.wrong > 0 or not self.outcome.cleaned_up)


def _knobs(clients: int, requests: int, max_batch: int, max_wait_s: float, timeout_s: float,
           model_fn: Callable[[list[Any]], Any] | None) -> Knobs:
    for name, value in (("clients", clients), ("requests", requests), ("max_batch", max_batch)):
        knobs.integer(name, value)
    wait = knobs.seconds("max_wait_s", max_wait_s, allow_zero=True)
    bound = knobs.seconds("timeout_s", timeout_s)
    expect = (lambda x: 2 * x) if model_fn is None else None
    return Knobs(clients, requests, max_batch, wait, bound, model_fn or double, expect)


def run_case(impl: ModuleType, name: str, *, clients: int = 3, requests: int = 4,
             max_batch: int = 8, max_wait_s: float = 0.005, timeout_s: float = 1.0,
             model_fn: Callable[[list[Any]], Any] | None = None) -> CaseResult:
    """Run one case of :data:`CASES` under a bound of ``timeout_s`` seconds."""
    if name not in CASES:
        raise ValueError(f"case must be one of {sorted(CASES)}, got {name!r}")
    k = _knobs(clients, requests, max_batch, max_wait_s, timeout_s, model_fn)
    tally, hooks = Tally(), []

    def unblock() -> None:
        for hook in hooks:
            hook()

    start = time.perf_counter()
    outcome = bounded(CASES[name], timeout_s, impl, k, tally, hooks, cancel=unblock,
                      name=f"batching-{name}")
    return CaseResult(name, outcome, tally, time.perf_counter() - start)


def run(impl: ModuleType, *, clients: int = 3, requests: int = 4, max_batch: int = 8,
        max_wait_s: float = 0.005, timeout_s: float = 1.0,
        cases: Sequence[str] = tuple(CASES),
        model_fn: Callable[[list[Any]], Any] | None = None) -> Report:
    """Drive ``impl`` (a module with ``MicroBatcher`` and ``encode_documents``) through ``cases``.

    Args:
        impl: ``broken``, ``fixed`` or a reader's module with the same names.
        clients, requests: the load; ``partial_batch`` hangs a batcher without a deadline
            whenever ``clients * requests`` is not a multiple of ``max_batch``.
        max_batch, max_wait_s: the batcher's knobs.
        timeout_s: the bound on each case (> 0).
        cases: which of :data:`CASES` to run.
        model_fn: the model (default: a 1 ms stand-in whose outputs are checked).

    Returns:
        A Report that has ``manifested`` when any request hung, was lost or got another
        request's output; metrics per case (``<case>_hung``) and overall.
    """
    if not cases or any(c not in CASES for c in cases):
        raise ValueError(f"cases must be a non-empty selection of {sorted(CASES)}, got {cases!r}")
    options = dict(clients=clients, requests=requests, max_batch=max_batch,
                   max_wait_s=max_wait_s, timeout_s=timeout_s, model_fn=model_fn)
    results = [run_case(impl, name, **options) for name in cases]
    failed = [r.name for r in results if r.failed]
    hung = [r for r in results if r.outcome.hung]
    sent = sum(r.tally.sent for r in results)
    lost = sum(r.tally.lost for r in results)
    worst = max((r.wall_s for r in hung), default=0.0)
    metrics: dict[str, Any] = {f"{r.name}_hung": r.outcome.hung for r in results}
    metrics.update(
        cases=len(results), hung=len(hung), requests=sent, lost=lost,
        errors=sum(r.tally.errors for r in results),
        wrong=sum(r.tally.wrong for r in results),
        raised=sum(r.outcome.status == "raised" for r in results),
        cleaned_up=all(r.outcome.cleaned_up for r in results),
        timeout_s=float(timeout_s), worst_catch_s=round(worst, 3),
    )
    if failed:
        headline = (f"{len(failed)} of {len(results)} cases failed ({', '.join(failed)}): "
                    f"{lost} of {sent} requests lost (never answered while their client "
                    f"waited); every hang was caught within {worst:.2f} s")
    else:
        headline = (f"all {len(results)} cases finished: {sent} requests, each answered once "
                    f"(a result, the model's error or a clear refusal), none lost")
    return Report("batching", knobs.impl_name(impl), bool(failed), headline, metrics)


def timeline_of(result: CaseResult) -> tuple[list[tuple[str, float, float, str]],
                                             list[tuple[str, float, str]]]:
    """Spans (ms) for :func:`demos.plotting.timeline`: each request from sent to answered,
    or to the bound if it never was; a mark where the bound fired."""
    stop = result.outcome.elapsed_s if result.outcome.hung else result.tally.now()
    spans = [(row, start * 1000, (stop if end is None else end) * 1000,
              "never answered" if end is None else kind)
             for row, start, end, kind in result.tally.spans]
    marks = []
    if result.outcome.hung and spans:
        marks.append((spans[0][0], result.outcome.elapsed_s * 1000, "timeout fires"))
    return spans, marks


def bench(**knobs: Any) -> dict[str, Any]:
    """Throughput, latency and padding: unbatched, first fix, fixed, offline (real encoder).

    ``python -m demos bench batching`` prints it. Knobs: see :func:`perf.compare`.
    """
    from demos.batching.perf import compare

    return compare(**knobs)
