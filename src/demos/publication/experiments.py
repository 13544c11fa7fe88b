"""The chapter's measurements beyond scenario.run: natural race rates and lazy-load variants.

* :func:`race_rate` runs the broken holder with a *natural* gap between its two statements
  (nothing, some Python work, a file read, ``time.sleep(0)``) and readers that spin, under
  a given ``sys.setswitchinterval``: how often does luck hide the bug?
* :data:`LAZY_VARIANTS`: the ways people make a lazy global "thread-safe", each with the
  ``LazyModel(load).get()`` shape, for :func:`demos.publication.scenario.lazy_trial`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from demos.publication import broken, fixed, scenario
from demos.publication.model import Model, load_model

__all__ = [
    "GAPS",
    "LAZY_VARIANTS",
    "CachedPropertyLazy",
    "LruCacheLazy",
    "busy",
    "lazy_loads",
    "race_rate",
    "switch_interval",
]


def busy(micros: float) -> Callable[[], None]:
    """A gap of about ``micros`` µs of pure Python work (it never releases the GIL itself)."""
    deadline = [0.0]

    def work() -> None:
        deadline[0] = time.perf_counter() + micros * 1e-6
        while time.perf_counter() < deadline[0]:
            pass

    return work


def _read_file() -> None:
    with open(_FILE, "rb") as f:  # a log line, a config file: I/O releases the GIL
        f.read()


_FILE = os.path.join(tempfile.gettempdir(), "publication-gap.txt")

#: The gaps compared in the heat map, smallest first.
GAPS: dict[str, Callable[[], object]] = {
    "nothing": lambda: None,
    "50 µs Python": busy(50),
    "500 µs Python": busy(500),
    "file read": _read_file,
    "sleep(0)": lambda: time.sleep(0),
}


@contextlib.contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` inside the block, restored after it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def race_rate(gap: Callable[[], object], *, trials: int = 100, readers: int = 2,
              interval_s: float | None = None, impl: Any = broken) -> float:
    """The fraction of trials in which a spinning reader used the model too early.

    The session is created once and reused, so that a trial is only the race itself.
    """
    if not os.path.exists(_FILE):
        with open(_FILE, "w") as f:
            f.write("model ready\n" * 100)
    model = _shared_model()
    with switch_interval(interval_s or sys.getswitchinterval()):
        hits = sum(
            scenario.holder_trial(impl, readers=readers, gap=gap, poll_s=0, seed=i,
                                  build=lambda: model).failures > 0
            for i in range(trials)
        )
    return hits / trials


@functools.cache
def _shared_model() -> Model:
    return load_model()


class LruCacheLazy:
    """``functools.lru_cache`` around the load: the cache is thread-safe, the load is not."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self.get = functools.lru_cache(maxsize=None)(lambda: load())


class CachedPropertyLazy:
    """``functools.cached_property``: locked on Python ≤ 3.11, unlocked from 3.12 on."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load

    @functools.cached_property
    def model(self) -> Any:
        return self._load()

    def get(self) -> Any:
        return self.model


#: Name -> LazyModel-shaped factory, in the order the figure shows them.
LAZY_VARIANTS: dict[str, Callable[[Callable[[], Any]], Any]] = {
    "no lock": broken.LazyModel,
    "lru_cache": LruCacheLazy,
    f"cached_property (Python {sys.version_info.major}.{sys.version_info.minor})":
        CachedPropertyLazy,
    "lock": fixed.LazyModel,
}


def lazy_loads(threads: Sequence[int] = (1, 2, 4, 8), *, repeats: int = 3,
               load_delay_s: float = 0.02) -> dict[str, list[float]]:
    """Mean loads per trial for every variant at each thread count, labelled by what it did.

    A variant that loaded more than once anywhere is labelled ``"broken: <name>"``, the lock
    ``"fixed: lock"``, any other ``"<name>"`` (neutral): the label, and so the figure's colour,
    follows the observation on this Python, not a version table.
    """
    out: dict[str, list[float]] = {}
    for name, factory in LAZY_VARIANTS.items():
        loads = [sum(scenario.lazy_trial(factory, threads=n, load_delay_s=load_delay_s).loads
                     for _ in range(repeats)) / repeats for n in threads]
        if name == "lock" and max(loads) == 1:
            label = "fixed: lock"
        elif max(loads) > 1:
            label = f"broken: {name}"
        else:
            label = name
        out[label] = loads
    return out
