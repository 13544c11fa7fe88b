"""Exercise 2.3's check: a hot-reloadable model, with every race it judges forced.

The check holds two requests inside the old model while it is reloaded, then lets them
finish **one at a time**, so that a model closed after the first request ends is closed
while the second is still using it.

A reader's answer that counts the requests on each model without a lock is wrong, but it
fails only when two requests read the count before either writes it back: a lost update.
That is forced here without touching the reader's code: :class:`FirstReads` makes each
request's first read of a count (an ``int`` attribute of the reader's object, or a value
read from a ``dict`` it holds) wait until the other request has read too, and then both
go on with what they read. A request that reads while one of the object's locks is held
does not wait: its read is serialised by that lock, which is the right answer.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from demos import exercises
from demos.publication.model import load_model, reference_predict, sample_ids

__all__ = ["BOUND_S", "IN_FLIGHT", "FirstReads", "TrackedModel", "check_reload"]

#: The bound on every wait the check makes; nothing here takes more than a fraction of it.
BOUND_S = 5.0
#: How many requests are inside the old model while it is reloaded.
IN_FLIGHT = 2
#: How long a request's first read waits for the other's when no lock of the reader's is
#: held (a lock kept elsewhere, in a closure or a module, costs the check this much once).
READ_WAIT_S = 1.0


class TrackedModel:
    """A real model that records its requests and its ``close()``, for :func:`check_reload`.

    Its first ``hold`` requests wait inside ``predict`` until :meth:`release_one` lets one
    of them go (the requests in flight while the model is reloaded); ``entered`` is set once
    all ``hold`` of them are inside at the same time.
    """

    def __init__(self, seed: int, *, hold: int = 0) -> None:
        self.seed, self.model = seed, load_model(seed)
        self.hold, self.entered = hold, threading.Event()
        self._turns = threading.Semaphore(0)  # one release per held request
        # Guards the counters below.
        self._lock = threading.Lock()
        self.calls = self.in_flight = self.closes = self.closed_in_flight = 0
        self.closed = False

    def release_one(self) -> None:
        """Let one held request go on."""
        self._turns.release()

    def predict(self, ids: Any) -> Any:
        with self._lock:
            if self.closed:
                raise RuntimeError(f"model {self.seed} used after close()")
            held = self.calls < self.hold
            self.calls, self.in_flight = self.calls + 1, self.in_flight + 1
            if held and self.in_flight == self.hold:
                self.entered.set()
        try:
            if held:
                self._turns.acquire(timeout=BOUND_S)
            out = self.model.predict(ids)
            with self._lock:
                if self.closed:
                    raise RuntimeError(f"model {self.seed} was closed while a request used it")
            return out
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        with self._lock:
            self.closes += 1
            self.closed_in_flight += self.in_flight
            self.closed = True


def _held(value: Any) -> bool:
    """Whether ``value`` is a lock (Lock, RLock, Condition) that some thread holds."""
    if isinstance(value, threading.Condition):
        return _held(value._lock)
    if callable(getattr(value, "locked", None)):
        return bool(value.locked())
    return type(value).__name__ == "RLock" and repr(value).startswith("<locked")


class FirstReads:
    """Makes each request thread's first read of a count wait for the other's first read.

    Concurrency: ``first_read`` is called from the reader's code, in request threads named
    ``request-<n>``; every wait is bounded by ``READ_WAIT_S``.
    """

    def __init__(self, served: Any, parties: int = IN_FLIGHT) -> None:
        self._served, self._parties = served, parties
        self._cond = threading.Condition()  # guards _seen and unlocked
        self._seen: set[int] = set()
        self.unlocked = 0  # first reads made with none of the reader's locks held

    def first_read(self) -> None:
        me = threading.current_thread()
        if not me.name.startswith("request-"):
            return
        with self._cond:
            if me.ident in self._seen:
                return
            self._seen.add(me.ident)
            self._cond.notify_all()
            if any(_held(v) for v in vars(self._served).values()):
                return  # read under the reader's lock: nobody can read beside it
            self.unlocked += 1
            self._cond.wait_for(lambda: len(self._seen) >= self._parties, READ_WAIT_S)

    def install(self) -> None:
        """Route the reads of the reader's ``int`` attributes and ``dict`` values here."""
        first_read = self.first_read

        class PausingDict(dict):
            def __getitem__(self, key: Any) -> Any:
                value = super().__getitem__(key)
                first_read()  # read first, then wait: both requests read before either writes
                return value

            def get(self, key: Any, default: Any = None) -> Any:
                value = super().get(key, default)
                first_read()
                return value

        for name, value in list(vars(self._served).items()):
            if type(value) is dict:
                setattr(self._served, name, PausingDict(value))
        base = type(self._served)

        def __getattribute__(obj: Any, name: str) -> Any:
            value = base.__getattribute__(obj, name)
            if type(value) is int and not name.startswith("__"):
                first_read()
            return value

        # A class whose layout cannot be subclassed this way keeps only the dicts' hook.
        with contextlib.suppress(TypeError):
            self._served.__class__ = type(base.__name__, (base,),
                                          {"__getattribute__": __getattribute__})


def check_reload(reloadable: Any) -> exercises.Verdict:
    """``reloadable(model)`` has ``predict(ids)`` and ``reload(new_model)``; see the module."""
    from demos.harness import bounded

    old, new = TrackedModel(0, hold=IN_FLIGHT), TrackedModel(1)
    ids = sample_ids(2, seed=3)
    answers = {0: reference_predict(ids, 0), 1: reference_predict(ids, 1)}

    def who(out: Any) -> int | None:
        return next((s for s, a in answers.items() if np.allclose(out, a, atol=1e-5)), None)

    served = reloadable(old)
    reads = FirstReads(served)
    reads.install()
    results: list[Any] = []
    finished = threading.Semaphore(0)

    def request() -> None:
        try:
            out = who(served.predict(ids))
            results.append(True if out == 0 else f"answered by model {out}, expected 0")
        except Exception as error:  # what the request saw, for the verdict
            results.append(f"{type(error).__name__}: {error}")
        finally:
            finished.release()

    in_flight = [threading.Thread(target=request, name=f"request-{i}", daemon=True)
                 for i in range(IN_FLIGHT)]
    for thread in in_flight:
        thread.start()
    if not old.entered.wait(BOUND_S):
        for _ in in_flight:
            old.release_one()
        for thread in in_flight:
            thread.join(BOUND_S)
        return exercises.failed("2.3", (
            f"{IN_FLIGHT} requests could not be inside the model at the same time: they "
            "were served one at a time (a lock held around predict?)"))
    reload = threading.Thread(target=served.reload, args=(new,), name="reload", daemon=True)
    reload.start()
    reload.join(BOUND_S / 5)  # a reload may wait for in-flight requests, or return at once
    for _ in in_flight:  # one at a time: the next goes on once the last has finished
        old.release_one()
        finished.acquire(timeout=BOUND_S)
    for thread in in_flight:
        thread.join(BOUND_S)
    reload.join(BOUND_S)
    if any(t.is_alive() for t in in_flight) or reload.is_alive():
        return exercises.failed("2.3", f"a request or the reload was still running after "
                                       f"{BOUND_S}s")
    closed_in_time = old.closes
    after = bounded(lambda: who(served.predict(ids)), BOUND_S, name="request-c")
    problems = []
    failures = [r for r in results if r is not True]
    if failures or len(results) < IN_FLIGHT:
        problems.append(f"{len(failures)} of the {IN_FLIGHT} requests in flight during the "
                        f"reload failed: {failures[0]}" if failures else
                        "a request in flight got no answer")
    if old.closed_in_flight:
        problems.append(f"the old model was closed while {old.closed_in_flight} request(s) "
                        "were using it")
    if old.closes == 1 and not closed_in_time:
        problems.append("the old model was still open after its last request had ended "
                        "and reload() had returned: close it then, not later")
    if old.closes != 1:
        problems.append(f"the old model was closed {old.closes} times (once is right, "
                        "after its last request)")
    if new.closes:
        problems.append("the new model was closed")
    if not after.ok or after.value != 1:
        problems.append(f"a request after reload() returned was not answered by the new "
                        f"model ({after})")
    if problems and reads.unlocked >= IN_FLIGHT:
        problems.append(f"the {IN_FLIGHT} requests read their count at the same moment with "
                        "no lock held, so one update was lost: read and write it under one lock")
    if problems:
        return exercises.failed("2.3", "; ".join(problems))
    return exercises.passed("2.3", f"the {IN_FLIGHT} requests in flight were answered by the "
                                   "old model, which was closed once, after the last of "
                                   "them; the next request by the new one")
