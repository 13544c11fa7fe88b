"""One trial at a time: a ModelHolder under polling readers, a LazyModel under a barrier.

:func:`holder_trial` releases ``readers`` threads and the loader together. The readers poll
``holder.is_ready()`` and then call ``holder.predict()``. By default the warm-up, the step
between building the model and serving it, lasts until a reader has looked at the holder
while it ran (at most ``WARM_UP_CAP_S``): a holder that says "ready" before the model is
stored is caught in every trial, one that publishes only the finished model never is.

:func:`lazy_trial` releases ``threads`` threads together on ``lazy.get()``; loading sleeps
``load_delay_s`` (reading weights from disk) and then creates a real session.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos.harness import HangError, hammer
from demos.publication.model import Model, load_model, reference_predict, sample_ids

__all__ = ["TRIAL_BOUND_S", "WARM_UP_CAP_S", "Sight", "Trial", "holder_trial", "lazy_trial"]

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

    @property
    def failures(self) -> int:
        return sum(s.failed for s in self.sights)


class _Probe:
    """Ends the warm-up once a reader has looked during it (or a reader has given up)."""

    def __init__(self) -> None:
        self.since = math.inf  # when the warm-up began
        self.looked = threading.Event()

    def saw(self, poll_started: float) -> None:
        if poll_started >= self.since:
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
) -> Trial:
    """Load one model through ``impl.ModelHolder`` while ``readers`` threads poll and use it.

    Args:
        gap: the warm-up step. None: a real warm-up run that lasts until a reader has
            looked (the construction that makes the race certain). A callable: that call,
            and nothing else, sits between the two statements (for natural rates).
        poll_s: how long a reader sleeps between polls (0: spin).
        build: creates the model (default: a new onnxruntime session each trial).
    """
    if not (isinstance(readers, int) and readers >= 1):
        raise ValueError(f"readers must be an int >= 1, got {readers!r}")
    ids = sample_ids(2, seed)
    expected = reference_predict(ids)
    probe, marks = _Probe(), {}
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
            probe.looked.wait(WARM_UP_CAP_S)
        else:
            gap()
        marks["warm_end"] = clock()

    holder = impl.ModelHolder(load, warm_up=warm_up, name="model-loader")
    sights: list[Sight] = []

    def read(index: int) -> None:
        start.wait(TRIAL_BOUND_S)
        deadline, polls, saw, outcome = clock() + TRIAL_BOUND_S / 2, 0, None, "never ready"
        while clock() < deadline:
            polled, polls = clock(), polls + 1
            if holder.is_ready():
                saw = polled
                try:
                    result = holder.predict(ids, timeout_s=1.0)
                    outcome = "ok" if np.allclose(result, expected, atol=1e-5) else "wrong result"
                except Exception as error:  # what the reader saw, kept for the report
                    outcome = f"{type(error).__name__}: {error}"
                break
            probe.saw(polled)
            if poll_s:
                time.sleep(poll_s)
        probe.looked.set()  # a reader that stops looking must not keep the warm-up waiting
        ms = lambda t: None if t is None else (t - origin[0]) * 1e3  # noqa: E731
        sights.append(Sight(index, ms(saw), ms(clock()), polls, outcome))

    threads = [threading.Thread(target=read, args=(i,), name=f"reader-{i}", daemon=True)
               for i in range(readers)]
    for thread in threads:
        thread.start()
    start.wait(TRIAL_BOUND_S)
    origin[0] = clock()
    holder.start()
    for thread in threads:
        thread.join(TRIAL_BOUND_S)
    holder.join(TRIAL_BOUND_S)
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise HangError(f"{alive} still running after {TRIAL_BOUND_S}s")
    at = {k: (v - origin[0]) * 1e3 for k, v in marks.items()}
    return Trial(at.get("built", math.nan), at.get("warm_start", math.nan),
                 at.get("warm_end", math.nan), tuple(sorted(sights, key=lambda s: s.reader)))


def lazy_trial(lazy_factory: Callable[[Callable[[], Model]], Any], *, threads: int = 8,
               load_delay_s: float = 0.02) -> tuple[int, int]:
    """``threads`` threads call ``lazy.get()`` together; return (loads, distinct objects)."""
    loads = []  # list.append is atomic: the count itself must not race

    def load() -> Model:
        loads.append(1)
        time.sleep(load_delay_s)  # reading the weights from disk
        return load_model()

    lazy = lazy_factory(load)
    result = hammer(lambda thread, index: lazy.get(), threads, 1, timeout_s=TRIAL_BOUND_S,
                    name="lazy-get")
    if result.errors:
        raise result.errors[0]
    return len(loads), len({id(v) for v in result.values})
