"""Drive a model wrapper from several threads and check every result against a reference.

Every request carries distinct texts; each thread's batches pad to the same length but with
a different padding pattern, so a request that reads another's buffer or mask gets a
different answer. With ``rendezvous=True`` every model call waits for the other threads
inside ``session.run`` (:class:`.trace.TracedSession`): a wrapper that lets requests
overlap is then raced on every call, and one that serialises them is caught because no
second run ever arrives (the rendezvous times out once). Both verdicts hold by
construction, not by timing. With ``rendezvous=False`` the rates are the natural ones.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos import knobs
from demos.harness import HangError, hammer
from demos.models import Encoder, load_encoder
from demos.report import Report
from demos.shared_state.trace import Span, TracedSession, overlap
from demos.shared_state.workload import reference_embeddings, requests

__all__ = ["Measurement", "bench", "default_encoder", "measure", "requests", "run"]

TOLERANCE = 1e-4  # a wrong result is off by ~1e-2; float32 noise is ~1e-7


@functools.cache
def default_encoder() -> Encoder:
    """The running example, one onnxruntime thread per run: requests are what overlaps."""
    return load_encoder(intra_op_threads=1)


@dataclass(frozen=True)
class Measurement:
    """Everything one :func:`measure` run saw; times are perf_counter seconds."""

    impl: str
    threads: int
    calls: int
    wrong: int  # calls whose result differs from the reference
    failed: int  # calls that raised
    lost_counts: int  # calls made minus calls the wrapper's stats() counted
    overlap: float  # fraction of the serving window with >= 2 runs in flight
    max_in_flight: int
    rendezvous: str
    window_s: float
    runs: tuple[Span, ...]  # the model runs
    requests: tuple[Span, ...]  # the predict() calls

    @property
    def total(self) -> int:
        return self.threads * self.calls

    @property
    def serialised(self) -> bool:
        """True when a rendezvous proved that no two runs were ever in flight at once."""
        return self.rendezvous != "off" and self.threads > 1 and self.max_in_flight < 2

    @property
    def calls_per_s(self) -> float:
        return self.total / self.window_s if self.window_s > 0 else float("inf")


def measure(impl: Any, *, threads: int = 2, calls: int = 6, batch: int = 4,
            rendezvous: bool = True, rendezvous_timeout_s: float = 5.0,
            encoder: Encoder | None = None, seed: int = 0,
            timeout_s: float = 120.0) -> Measurement:
    """Serve ``threads × calls`` requests of ``batch`` texts through ``impl.Model``.

    Raises:
        ValueError: for a count out of range.
        HangError: if the requests are not all answered within ``timeout_s``.
    """
    knobs.integer("threads", threads)
    knobs.integer("calls", calls)
    knobs.integer("batch", batch, high=32)  # the wrappers' max_batch
    knobs.seconds("rendezvous_timeout_s", rendezvous_timeout_s)
    knobs.seconds("timeout_s", timeout_s)
    encoder = encoder or default_encoder()
    batches = requests(threads, calls, batch, seed)
    reference = reference_embeddings(encoder, batches, (threads, calls, batch, seed))
    barrier = threading.Barrier(threads) if rendezvous and threads > 1 else None
    session = TracedSession(encoder.session, barrier, rendezvous_timeout_s)
    model = impl.Model(dataclasses.replace(encoder, session=session))
    lock = threading.Lock()  # guards spans: appended by every request thread
    spans: list[Span] = []

    def request(thread: int, index: int) -> Any:
        start = time.perf_counter()
        try:
            return model.predict(batches[thread][index])
        finally:
            with lock:
                spans.append(Span(threading.current_thread().name, start, time.perf_counter()))

    try:
        result = hammer(request, threads, calls, timeout_s=timeout_s, name="request")
    except HangError:
        if barrier is not None:
            barrier.abort()
        raise
    wrong = sum(c.error is None and not _same(c.value, reference[c.thread][c.index])
                for c in result.calls)
    failed = sum(c.error is not None for c in result.calls)
    counted = model.stats().calls
    begin, end = min(s.start for s in spans), max(s.end for s in spans)
    return Measurement(
        impl=knobs.impl_name(impl), threads=threads,
        calls=calls, wrong=int(wrong), failed=failed, lost_counts=len(result.calls) - counted,
        overlap=overlap(session.spans, begin, end), max_in_flight=session.max_in_flight,
        rendezvous=session.rendezvous, window_s=end - begin, runs=session.spans,
        requests=tuple(spans),
    )


def _same(value: Any, expected: np.ndarray) -> bool:
    value = np.asarray(value)
    return value.shape == expected.shape and bool(np.allclose(value, expected, rtol=0,
                                                              atol=TOLERANCE))


def run(impl: Any, **settings: Any) -> Report:
    """Measure ``impl`` (see :func:`measure` for the knobs) and report what happened.

    Manifested when any result is wrong or failed, any count is lost, or the rendezvous
    proved that the wrapper never let two model runs overlap.
    """
    name = knobs.impl_name(impl)
    try:
        m = measure(impl, **settings)
    except HangError as error:
        return Report("shared_state", name, True, f"hung: {error}", {})
    bad = m.wrong + m.failed
    manifested = bad > 0 or m.lost_counts > 0 or m.serialised
    flight = "serialised: never two runs at once" if m.serialised else (
        f"runs overlapped {m.overlap:.0%} of the time")
    headline = (f"{bad} of {m.total} results wrong, {m.lost_counts} of {m.total} counts lost; "
                f"{flight}")
    return Report("shared_state", name, manifested, headline, {
        "threads": m.threads, "calls": m.total, "wrong_results": bad, "failed": m.failed,
        "lost_counts": m.lost_counts, "overlap": round(m.overlap, 3),
        "max_in_flight": m.max_in_flight, "rendezvous": m.rendezvous,
        "calls_per_s": round(m.calls_per_s, 1),
    })


def bench(threads: tuple[int, ...] = (1, 2, 4), calls: int = 12,
          **settings: Any) -> dict[str, Any]:
    """Side by side in one run: locked vs fixed (natural timing), then oversubscription.

    The first part is throughput and overlap of the locked and the fixed wrapper; the second,
    :func:`.oversubscription.measure` on the real encoder: throughput and p99 for 1, 2, 4 and
    8 request threads × ``intra_op_num_threads`` 1 or onnxruntime's default, with one shared
    session and with a session per thread. On a machine with few, shared cores the ratios
    are what to read, not the rates.
    """
    from demos.shared_state import fixed, oversubscription, variants

    out: dict[str, Any] = {}
    for n in threads:
        row = {}
        for impl in (variants.IMPLS["locked"], fixed):
            m = measure(impl, threads=n, calls=calls, rendezvous=False, **settings)
            row[m.impl] = {"calls_per_s": round(m.calls_per_s, 1), "overlap": round(m.overlap, 3)}
        row["fixed/locked throughput"] = round(
            row["fixed"]["calls_per_s"] / row["locked"]["calls_per_s"], 2)
        out[f"{n} threads"] = row
    grid = oversubscription.measure(settings.get("encoder") or default_encoder())
    out["oversubscription"] = {
        "cores": grid.cores,
        "pool_threads_per_session": {grid.label(k): v for k, v in grid.pool_threads.items()},
        **{f"{c.layout} · {grid.label(c.intra_op)} · {c.threads} threads": {
            "calls_per_s": round(c.calls_per_s, 1), "p99_ms": round(c.p99_ms, 1),
            "calls": c.calls} for c in grid.cells},
        "rules": [grid.rule(layout) for layout in grid.layouts],
    }
    return out
