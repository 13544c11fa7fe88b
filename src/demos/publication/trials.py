"""One trial at a time: a ModelHolder under concurrent readers, a LazyModel under a barrier.

:func:`holder_trial` releases ``readers`` threads and the loader together. With
``wait="poll"`` the readers poll ``holder.is_ready()`` and then call ``holder.predict()``
(a request handler behind a readiness check); with ``wait="get"`` they call
``holder.predict()`` at once and wait inside ``get()`` (on the Event, in the fixed holder).
By default the warm-up, the step between building the model and serving it, lasts until a
reader has looked at the holder while it ran (at most ``WARM_UP_CAP_S``): a holder that
says "ready" before the model is stored is caught in every trial, one that publishes only
the finished model never is.

:func:`lazy_trial` releases ``threads`` threads together on ``lazy.get()``; loading sleeps
``load_delay_s`` (reading weights from disk) and then creates a real session.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from demos.harness import HangError, hammer
from demos.publication.model import Model, load_model, reference_predict, sample_ids

__all__ = ["TRIAL_BOUND_S", "WARM_UP_CAP_S", "LazyTrial", "Sight", "Trial", "holder_trial",
           "lazy_trial"]

#: The warm-up's hard bound: it ends earlier, as soon as a reader has looked during it.
WARM_UP_CAP_S = 2.0
#: Every trial's threads finish within this bound, or the trial raises HangError.
TRIAL_BOUND_S = 20.0

clock = time.perf_counter


@dataclass(frozen=True, slots=True)
class Sight:
    """What one reader saw. Times are ms after the trial started; None if it never happened."""

    reader: int
    saw_ready_ms: float | None
    done_ms: float
    polls: int
    outcome: str  # "ok", "never ready", or "<Error>: <message>"

    @property
    def failed(self) -> bool:
        return self.outcome != "ok"


@dataclass(frozen=True, slots=True)
class Trial:
    """One publication trial: the loader's milestones (ms) and every reader's sight."""

    built_ms: float
    warm_start_ms: float
    warm_end_ms: float
    sights: tuple[Sight, ...]
    wait: str = "poll"  # how the readers waited: "poll" (is_ready()) or "get" (inside get())

    @property
    def failures(self) -> int:
        return sum(s.failed for s in self.sights)


class _Probe:
    """Ends the warm-up once a reader has looked during it (or a reader has given up).

    In ``wait="get"`` trials it ends once every reader has arrived instead (they then wait
    inside ``get()``); that shows the waiting, it does not force a race.
    """

    def __init__(self, readers: int) -> None:
        self.since = math.inf  # when the warm-up began
        self.looked = threading.Event()
        # Guards `waiting`: decremented by each arriving reader.
        self._lock = threading.Lock()
        self.waiting = readers

    def saw(self, poll_started: float) -> None:
        if poll_started >= self.since:
            self.looked.set()

    def arrived(self) -> None:
        with self._lock:
            self.waiting -= 1
            if self.waiting == 0:
                self.looked.set()


def holder_trial(
    impl: Any,
    *,
    readers: int = 2,
    load_delay_s: float = 0.0,
    gap: Callable[[], object] | None = None,
    poll_s: float = 0.0005,
    seed: int = 0,
    build: Callable[[], Model] = load_model,
    wait: str = "poll",
    bound_s: float = TRIAL_BOUND_S,
) -> Trial:
    """Load one model through ``impl.ModelHolder`` while ``readers`` threads poll and use it.

    Args:
        gap: the warm-up step. None: a real warm-up run that lasts until a reader has
            looked (the construction that makes the race certain). A callable: that call,
            and nothing else, sits between the two statements (for natural rates).
        poll_s: how long a reader sleeps between polls (0: spin).
        build: creates the model (default: a new onnxruntime session each trial).
        wait: ``"poll"`` (readers poll ``is_ready()``) or ``"get"`` (they wait in ``get()``).
        bound_s: every wait of the trial is bounded by this; a hang raises HangError.
    """
    if not (isinstance(readers, int) and readers >= 1):
        raise ValueError(f"readers must be an int >= 1, got {readers!r}")
    if wait not in ("poll", "get"):
        raise ValueError(f"wait must be 'poll' or 'get', got {wait!r}")
    cap = min(WARM_UP_CAP_S, bound_s / 4)
    ids = sample_ids(2, seed)
    expected = reference_predict(ids)
    probe, marks = _Probe(readers), {}
    start = threading.Barrier(readers + 1)  # release the readers and the loader together
    origin = [0.0]

    def load() -> Model:
        time.sleep(load_delay_s)  # reading the weights from disk
        model = build()
        marks["built"] = clock()
        return model

    def warm_up(model: Model) -> None:
        marks["warm_start"] = probe.since = clock()
        if gap is None:
            model.warm_up()
            probe.looked.wait(cap)
        else:
            gap()
        marks["warm_end"] = clock()

    holder = impl.ModelHolder(load, warm_up=warm_up, name="model-loader")
    sights: list[Sight] = []

    def use() -> str:
        try:
            result = holder.predict(ids, timeout_s=bound_s / 2)
            return "ok" if np.allclose(result, expected, atol=1e-5) else "wrong result"
        except Exception as error:  # what the reader saw, kept for the report
            return f"{type(error).__name__}: {error}"

    def read(index: int) -> None:
        start.wait(bound_s)
        deadline, polls, saw, outcome = clock() + bound_s / 2, 0, None, "never ready"
        while wait == "poll" and clock() < deadline:
            polled, polls = clock(), polls + 1
            if holder.is_ready():
                saw, outcome = polled, use()
                break
            probe.saw(polled)
            if poll_s:
                time.sleep(poll_s)
        if wait == "get":  # a request that arrives now and waits for the model inside get()
            probe.arrived()
            outcome, polls, saw = use(), 1, clock()
        probe.looked.set()  # a reader that stops looking must not keep the warm-up waiting
        ms = lambda t: None if t is None else (t - origin[0]) * 1e3  # noqa: E731
        sights.append(Sight(index, ms(saw), ms(clock()), polls, outcome))

    threads = [threading.Thread(target=read, args=(i,), name=f"reader-{i}", daemon=True)
               for i in range(readers)]
    for thread in threads:
        thread.start()
    start.wait(bound_s)
    origin[0] = clock()
    holder.start()
    for thread in threads:
        thread.join(bound_s)
    holder.join(bound_s)
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise HangError(f"{alive} still running after {bound_s}s")
    at = {k: (v - origin[0]) * 1e3 for k, v in marks.items()}
    return Trial(at.get("built", math.nan), at.get("warm_start", math.nan),
                 at.get("warm_end", math.nan), tuple(sorted(sights, key=lambda s: s.reader)),
                 wait)


class LazyTrial(NamedTuple):
    """One lazy-load trial: how often ``load`` ran and what the threads got back."""

    loads: int  # the contract: exactly 1
    distinct: int  # distinct objects the threads got; the contract: exactly 1
    missing: int  # threads that got None or something that is not a model; the contract: 0

    @property
    def broken(self) -> bool:
        return (self.loads, self.distinct, self.missing) != (1, 1, 0)


def lazy_trial(lazy_factory: Callable[[Callable[[], Model]], Any], *, threads: int = 8,
               load_delay_s: float = 0.02, bound_s: float = TRIAL_BOUND_S) -> LazyTrial:
    """``threads`` threads call ``lazy.get()`` together; count loads and distinct objects.

    The first load holds the window open: it waits until every thread has called
    ``get()`` (at most a quarter of ``bound_s``), then reads for ``load_delay_s``, so a
    ``get()`` that checks without a lock is inside the window in every trial.
    """
    loads = []  # list.append is atomic: the count itself must not race
    probe = _Probe(threads)

    def load() -> Model:
        loads.append(1)
        probe.looked.wait(bound_s / 4)  # until every thread is inside get()
        time.sleep(load_delay_s)  # reading the weights from disk
        return load_model()

    def get(thread: int, index: int) -> Any:
        probe.arrived()
        return lazy.get()

    lazy = lazy_factory(load)
    result = hammer(get, threads, 1, timeout_s=bound_s, name="lazy-get")
    if result.errors:
        raise result.errors[0]
    models = [v for v in result.values if isinstance(v, Model)]
    return LazyTrial(len(loads), len({id(v) for v in models}), threads - len(models))
