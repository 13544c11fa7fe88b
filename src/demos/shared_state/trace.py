"""Watch a shared onnxruntime session: which runs were in flight, and when.

:class:`TracedSession` stands in for ``InferenceSession``: it forwards ``run`` to the real
session and records every run's span. Given a :class:`threading.Barrier` it also makes
each run wait there before the real call: a *rendezvous*. If the wrapper lets requests
overlap, every thread reaches the rendezvous and they run together, which makes the races
of :mod:`.broken` happen on every run instead of by luck. If the wrapper serialises runs
(a lock held across ``run``), no second thread can arrive: the rendezvous times out once,
is broken, and later runs go straight through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Span", "TracedSession", "overlap"]


@dataclass(frozen=True, slots=True)
class Span:
    """One real ``run``: the calling thread and its perf_counter start and end, in seconds."""

    thread: str
    start: float
    end: float


class TracedSession:
    """An ``InferenceSession`` stand-in that records runs and can make them meet.

    Args:
        session: the real session; every other attribute is read from it.
        rendezvous: a barrier each run waits at before the real call, or None.
        rendezvous_timeout_s: how long a run waits for the others (> 0).

    Concurrency: ``run`` is safe from any number of threads, like the real one. It blocks
    for the real run plus, the first time, at most ``rendezvous_timeout_s``.
    """

    def __init__(self, session: Any, rendezvous: threading.Barrier | None = None,
                 rendezvous_timeout_s: float = 2.0) -> None:
        if not rendezvous_timeout_s > 0:
            raise ValueError(f"rendezvous_timeout_s must be > 0, got {rendezvous_timeout_s!r}")
        self._session = session
        self._rendezvous = rendezvous
        self._timeout_s = rendezvous_timeout_s
        # Guards _spans, _in_flight, _max_in_flight and _met. Never held during a run.
        self._lock = threading.Lock()
        self._spans: list[Span] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._met = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, output_names: Sequence[str] | None, feeds: dict[str, Any],
            run_options: Any = None) -> list[Any]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if self._rendezvous is not None and not self._rendezvous.broken:
                try:
                    self._rendezvous.wait(self._timeout_s)
                    with self._lock:
                        self._met += 1
                except threading.BrokenBarrierError:
                    pass  # timed out (runs are serialised) or broken by another thread
            start = time.perf_counter()
            result = self._session.run(output_names, feeds, run_options)
            end = time.perf_counter()
        finally:
            with self._lock:
                self._in_flight -= 1
        with self._lock:
            self._spans.append(Span(threading.current_thread().name, start, end))
        return result

    @property
    def spans(self) -> tuple[Span, ...]:
        """Every completed run, in the order they finished."""
        with self._lock:
            return tuple(self._spans)

    @property
    def max_in_flight(self) -> int:
        """The most runs that were inside ``run`` at once (rendezvous wait included)."""
        with self._lock:
            return self._max_in_flight

    @property
    def rendezvous(self) -> str:
        """``"off"``, ``"met"`` (every run met the others) or ``"timed out"``."""
        if self._rendezvous is None:
            return "off"
        with self._lock:
            return "timed out" if self._rendezvous.broken else "met"


def overlap(spans: Iterable[Span], start: float, end: float) -> float:
    """The fraction of ``[start, end]`` during which two or more spans were in flight."""
    if not end > start:
        return 0.0
    events = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    busy, depth, since = 0.0, 0, start
    for t, step in events:
        t = min(max(t, start), end)
        if depth >= 2:
            busy += t - since
        depth += step
        since = t
    return busy / (end - start)
