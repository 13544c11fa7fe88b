"""What the two opening pages use: a tiny broken/fixed pair, their exercises, the front page.

* :class:`BrokenRegistry` / :class:`FixedRegistry`: the smallest pitfall in the book, a
  method that takes a lock its caller already holds. "How this book measures" shows it
  with :func:`demos.show.listing` and :func:`demos.show.diff`, and runs it under
  :func:`demos.harness.bounded`.
* :func:`check_reentrant_lock` (exercise H.1) and :func:`check_mean_pool` (exercise 0.1):
  the checks of those pages' exercises, each returning a :class:`demos.exercises.Verdict`
  whose message is made of counts, never timings.
* :func:`verdicts`: every landed pitfall's broken and fixed implementation run once through
  its own ``scenario.run`` with quick knobs, for the front page's verdict grid.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos.exercises import Verdict, check, failed, passed
from demos.harness import bounded
from demos.report import Report

__all__ = [
    "QUICK_KNOBS",
    "BrokenRegistry",
    "FixedRegistry",
    "Row",
    "check_mean_pool",
    "check_reentrant_lock",
    "verdicts",
]

#: Bound on each step of a check: a correct answer needs microseconds.
CHECK_BOUND_S = 1.0
#: How long a second thread is left inside ``acquire()`` while the first holds the lock.
EXCLUSION_WAIT_S = 0.5


class BrokenRegistry:
    """A thread-safe dict of named items, as a first version often is."""

    def __init__(self, lock: Any = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._items: dict[str, Any] = {}

    def add(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value

    def add_many(self, items: Mapping[str, Any]) -> None:
        with self._lock:
            for key, value in items.items():
                self.add(key, value)  # PITFALL: add() takes the lock this thread holds

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class FixedRegistry:
    """The same dict; no method that holds the lock calls another method that takes it.

    Concurrency: ``_lock`` guards ``_items``; every public method takes it exactly once.
    """

    def __init__(self, lock: Any = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._items: dict[str, Any] = {}

    def add(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value

    def add_many(self, items: Mapping[str, Any]) -> None:
        with self._lock:
            for key, value in items.items():
                self._items[key] = value  # FIX: write directly; the lock is already held

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# --- Exercise H.1 -------------------------------------------------------------------------


def check_reentrant_lock(make_lock: Callable[[], Any]) -> Verdict:
    """Exercise H.1: a lock that makes :class:`BrokenRegistry` safe without changing it.

    Passes when ``make_lock()`` returns a lock that (1) the thread holding it may take again,
    so ``BrokenRegistry(lock).add_many`` finishes, and (2) still keeps a second thread out
    while the first holds it. Both are decided by construction: (1) by a bound on a call
    that a plain Lock never finishes, (2) by trying to acquire while the holder waits.
    """
    return check("H.1", lambda: _check_reentrant_lock(make_lock))


def _check_reentrant_lock(make_lock: Callable[[], Any]) -> Verdict:
    lock = make_lock()
    for method in ("acquire", "release", "__enter__", "__exit__"):
        if not callable(getattr(lock, method, None)):
            return failed("H.1", f"make_lock() returned a {type(lock).__name__}, which has no "
                                 f"{method}(): return a lock object")
    registry = BrokenRegistry(lock)
    items = {f"item-{i}": i for i in range(3)}
    outcome = bounded(registry.add_many, CHECK_BOUND_S, items, cancel=_releaser(lock),
                      name="exercise-H.1")
    if not outcome.ok:
        return failed("H.1", f"add_many() {_said(outcome.status)}: the thread that holds "
                             "your lock could not take it again")
    stored = bounded(len, CHECK_BOUND_S, registry, name="exercise-H.1-len")
    if not stored.ok:
        return failed("H.1", "after add_many() returned, len() could not take your lock: "
                             "release() must give it back")
    if stored.value != len(items):
        return failed("H.1", f"add_many() stored {stored.value} of {len(items)} items")
    kept_out = _keeps_a_second_thread_out(lock)
    if kept_out is None:
        return failed("H.1", "a thread that took your lock did not signal that it holds it")
    if not kept_out:
        return failed("H.1", "a second thread's acquire() returned while the first thread "
                             "held your lock (taken twice, released once): it no longer "
                             "protects anything; count the holder's acquires")
    return passed("H.1", f"add_many() stored all {len(items)} items through a lock its "
                         "thread already held, and a second thread was kept out meanwhile")


def _said(status: str) -> str:
    return {"hung": "hung", "raised": "raised an error"}.get(status, status)


def _releaser(lock: Any) -> Callable[[], None]:
    """The cancel hook: a plain Lock may be released by any thread, which frees the worker."""

    def release() -> None:
        # An RLock owned by the stuck worker cannot be released from here: nothing to do.
        with contextlib.suppress(RuntimeError):
            lock.release()

    return release


def _keeps_a_second_thread_out(lock: Any) -> bool | None:
    """True when a second thread's plain ``lock.acquire()`` waits until the holder lets go.

    The holder takes the lock twice, lets go once, and keeps it until the check says ``go``; a
    second thread calls ``acquire()`` (blocking, no timeout, as ``with lock:`` does) and notes
    whether ``go`` was already given when it got in. ``go`` is given only once the second thread
    has returned from ``acquire()`` or has waited :data:`EXCLUSION_WAIT_S` inside it, so a lock
    that lets it in while held is caught by construction (whatever ``acquire(timeout=…)`` or
    ``acquire(blocking=False)`` answer), and a real lock costs that wait once.
    """
    held, go, trying, inside = (threading.Event() for _ in range(4))
    early: list[bool] = []

    def holder() -> None:
        # Twice in, once out: a lock that remembers its owner but not how often it was taken
        # is free again here, while the outer ``with`` still runs.
        with lock:
            with lock:
                pass
            held.set()
            go.wait(CHECK_BOUND_S * 5)

    def second() -> None:
        trying.set()
        if lock.acquire():
            early.append(not go.is_set())
            inside.set()
            lock.release()

    first = threading.Thread(target=holder, name="exercise-H.1-holder", daemon=True)
    first.start()
    other = threading.Thread(target=second, name="exercise-H.1-second", daemon=True)
    try:
        if not held.wait(CHECK_BOUND_S):
            return None
        other.start()
        trying.wait(CHECK_BOUND_S)
        inside.wait(EXCLUSION_WAIT_S)
    finally:
        go.set()
        first.join(CHECK_BOUND_S)
        other.join(CHECK_BOUND_S)
    return bool(early) and not early[0]


# --- Exercise 0.1 -------------------------------------------------------------------------

#: Three texts of different lengths, so one batch holds real and padded positions.
POOL_TEXTS = ("A man is eating food.", "Zürich",
              "The café in Zürich serves a naïve breakfast to every guest.")
POOL_TOLERANCE = 1e-5


def check_mean_pool(pool: Callable[[np.ndarray, np.ndarray], Any], encoder: Any = None) -> Verdict:
    """Exercise 0.1: ``pool(last_hidden_state, attention_mask)`` → the sentence embeddings.

    Runs the real encoder on :data:`POOL_TEXTS` (padded into one batch) and compares the
    reader's pooling of ``last_hidden_state`` with the graph's own ``sentence_embedding``.
    """
    return check("0.1", lambda: _check_mean_pool(pool, encoder))


def _check_mean_pool(pool: Callable[[np.ndarray, np.ndarray], Any], encoder: Any) -> Verdict:
    if encoder is None:
        from demos.models import load_encoder

        encoder = load_encoder()
    feeds = encoder.feeds(list(POOL_TEXTS))
    hidden, expected = encoder.session.run(["last_hidden_state", "sentence_embedding"], feeds)
    mask = feeds["attention_mask"]
    got = np.asarray(pool(hidden, mask), dtype=np.float64)
    if got.shape != expected.shape:
        return failed("0.1", f"your pool returned shape {got.shape}, expected {expected.shape} "
                             "(one 384-wide vector per text)")
    wrong = int((np.abs(got - expected).max(axis=1) > POOL_TOLERANCE).sum())
    unit = int((np.abs(np.linalg.norm(got, axis=1) - 1) <= POOL_TOLERANCE).sum())
    n = len(POOL_TEXTS)
    if wrong:
        padded = int((mask == 0).any(axis=1).sum())
        return failed("0.1", f"{wrong} of {n} embeddings differ from the model's by more than "
                             f"{POOL_TOLERANCE:g} ({padded} of the {n} texts are padded; "
                             f"{unit} of yours have length 1)")
    return passed("0.1", f"all {n} embeddings match the model's within {POOL_TOLERANCE:g}, "
                         "padded texts included")


# --- The front page -----------------------------------------------------------------------

#: Knobs that keep each scenario to a few seconds while its broken implementation still
#: manifests by construction (the scenarios' own defaults are the chapters' full runs).
QUICK_KNOBS: dict[str, dict[str, Any]] = {
    "publication": {"workers": 0},
    "input_contract": {"model": "tiny"},
}


@dataclass(frozen=True)
class Row:
    """One pitfall on the front page: its chapter and what each implementation did."""

    name: str
    chapter: int
    title: str
    broken: Report
    fixed: Report


def verdicts(knobs: Mapping[str, Mapping[str, Any]] = QUICK_KNOBS) -> list[Row]:
    """Run every landed pitfall's broken and fixed implementation once, in chapter order."""
    from demos.catalogue import pitfalls

    rows = []
    for pitfall in pitfalls():
        extra = dict(knobs.get(pitfall.name, {}))
        rows.append(Row(pitfall.name, pitfall.chapter, pitfall.title,
                        pitfall.run("broken", **extra), pitfall.run("fixed", **extra)))
    return rows
