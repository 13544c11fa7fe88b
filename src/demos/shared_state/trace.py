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

import contextlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from demos import knobs
from demos.harness import HangError

__all__ = ["Parallel", "Span", "TracedSession", "overlap", "parallel"]


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


@dataclass(frozen=True)
class Parallel:
    """What :func:`parallel` saw, summed over its rounds: the real ``run`` calls' spans and
    the CPU their threads spent inside them."""

    serialised: bool
    spans: tuple[Span, ...]
    cpu_s: float  # thread CPU time spent inside the real run calls, every thread summed
    window_s: float  # per round, first start to last end; summed over rounds
    overlap_s: float  # per round, time with two or more calls in flight; summed
    samples: int  # times the threads' states were read (Linux /proc), 0 elsewhere
    all_runnable: int  # samples in which every thread was running or runnable ("R")

    @property
    def overlap(self) -> float:
        """The fraction of the windows with two or more real ``run`` calls in flight."""
        return self.overlap_s / self.window_s if self.window_s > 0 else 0.0

    @property
    def cores_busy(self) -> float:
        """CPU seconds inside ``run`` per second of the window: at most 1 when one call
        computes at a time, up to the thread count when calls compute in parallel."""
        return self.cpu_s / self.window_s if self.window_s > 0 else 0.0

    @property
    def runnable(self) -> float | None:
        """The share of samples in which every thread was running or ready to run, none
        asleep on a lock: near 1 when onnxruntime lets the calls compute together, whatever
        the machine's load; low when they take turns. None where /proc is missing."""
        return self.all_runnable / self.samples if self.samples else None

    @property
    def computing(self) -> float:
        """CPU seconds per second spent inside ``run``: near 1 when a call computes for its
        whole span, lower when it waits (for a lock inside, or for a core)."""
        inside = sum(s.end - s.start for s in self.spans)
        return self.cpu_s / inside if inside > 0 else 0.0


def _state(tid: int) -> str | None:
    """A thread's scheduler state from /proc ("R" running or runnable, "S" asleep...)."""
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _round(session: Any, feeds: dict[str, Any], threads: int, calls: int, serialise: bool,
           timeout_s: float) -> tuple[list[Span], float, int, int]:
    guard: Any = threading.Lock() if serialise else contextlib.nullcontext()
    lock = threading.Lock()  # guards spans, cpu and errors
    spans: list[Span] = []
    cpu: list[float] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    tids: list[int] = []
    done = threading.Event()

    def work() -> None:
        try:
            with lock:
                tids.append(threading.get_native_id())
            start.wait(timeout_s)
            for _ in range(calls):
                with guard:
                    c0, t0 = time.thread_time(), time.perf_counter()
                    session.run(None, feeds)
                    t1, c1 = time.perf_counter(), time.thread_time()
                with lock:
                    spans.append(Span(threading.current_thread().name, t0, t1))
                    cpu.append(c1 - c0)
        except BaseException as error:  # reported below, never lost in a thread
            with lock:
                errors.append(error)

    workers = [threading.Thread(target=work, name=f"run-{i}", daemon=True)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait(timeout_s)
    samples = runnable = 0
    deadline = time.monotonic() + timeout_s
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        states = [_state(t) for t in tids]
        if None not in states and all(w.is_alive() for w in workers):
            samples += 1
            runnable += all(state == "R" for state in states)
        done.wait(0.002)  # a sample every few ms; this thread sleeps in between
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    if any(w.is_alive() for w in workers):
        raise HangError(f"run threads still running after {timeout_s}s")
    if errors:
        raise errors[0]
    return spans, sum(cpu), samples, runnable


def parallel(session: Any, feeds: dict[str, Any], *, threads: int = 2, calls: int = 8,
             rounds: int = 3, timeout_s: float = 60.0) -> dict[bool, Parallel]:
    """Call the real ``session.run`` from ``threads`` threads, ``calls`` times each, and
    record each call's span and its thread's CPU time *around the real call*, nothing else
    inside; then the control, with a lock around every ``run``. Keyed by "serialised".
    ``rounds`` alternate the two, so a neighbour's load falls on both alike.

    Spans that overlap could still be calls waiting on a lock inside onnxruntime; the
    sampled scheduler states tell them apart: both threads runnable, none asleep, means
    neither call waited for the other. :attr:`Parallel.cores_busy` well above the control's
    would also show they computed at the same time (one intra-op thread: a call computes on
    its calling thread only); on a loaded machine it may not separate, and then that part
    is inconclusive.
    """
    knobs.integer("threads", threads, high=16)
    knobs.integer("calls", calls)
    knobs.integer("rounds", rounds, high=20)
    knobs.seconds("timeout_s", timeout_s)
    seen: dict[bool, list[Any]] = {k: [[], 0.0, 0.0, 0.0, 0, 0] for k in (False, True)}
    for r in range(rounds):
        for serialise in (False, True) if r % 2 == 0 else (True, False):
            spans, cpu, samples, runnable = _round(session, feeds, threads, calls, serialise,
                                                   timeout_s)
            t0, t1 = min(s.start for s in spans), max(s.end for s in spans)
            for i, add in enumerate((spans, cpu, t1 - t0, overlap(spans, t0, t1) * (t1 - t0),
                                     samples, runnable)):
                seen[serialise][i] += add
    return {k: Parallel(k, tuple(v[0]), *v[1:]) for k, v in seen.items()}
