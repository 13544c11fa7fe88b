"""Force, then see, a lost update in a reader's class: the hooks behind exercises 4.1 and 4.2.

A lost update needs two threads to read a counter before either writes it back. Hoping the
interpreter switches threads between the read and the write is not a check, so
:func:`forcing` subclasses the reader's class and makes it happen by construction:

* every ``session.run`` is followed by a barrier, so all request threads leave the model
  together;
* the first thread to read a number attribute (``self.calls``, ``self.total_s``, whatever
  its name, or a number item of a list or dict attribute) after a run waits, up to
  ``wait_s``, for a second thread to read the same attribute: unless a lock keeps the
  second one out, both now hold the same old value;
* every write of a number attribute is compared with what the writing thread last read
  of it: a different current value means another thread wrote in between, and this write
  throws that update away. Those attributes are reported.

A class that reads and writes under one lock pays ``wait_s`` once per attribute (the second
reader never comes while the first holds the lock) and is never reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import Any

from demos.harness import bounded

__all__ = ["Interleaver", "forcing", "record_while_another_is_held"]

_NUMBER = (int, float)


class Interleaver:
    """What the forcing subclass shares: the barriers, the gates and what it saw.

    Concurrency: ``_lock`` guards ``_gates``, ``_done`` and ``lost``.
    """

    def __init__(self, threads: int, wait_s: float) -> None:
        self.after_run = threading.Barrier(threads) if threads > 1 else None
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Event] = {}
        self._done: set[str] = set()
        self.lost: set[str] = set()
        self.local = threading.local()  # .after_run: bool, .read: {name: value}

    def ran(self) -> None:
        """Called by a request thread when its run returns: wait for the others."""
        if self.after_run is not None and not self.after_run.broken:
            # Broken when the runs are serialised: check_1 reports that from the spans.
            with contextlib.suppress(threading.BrokenBarrierError):
                self.after_run.wait(self.wait_s * 4)
        self.local.after_run = True

    def read(self, name: str, value: Any) -> None:
        reads = getattr(self.local, "read", None)
        if reads is None:
            reads = self.local.read = {}
        reads[name] = value
        if not getattr(self.local, "after_run", False):
            return
        with self._lock:
            if name in self._done:
                return
            gate = self._gates.get(name)
            first = gate is None
            if first:
                gate = self._gates[name] = threading.Event()
            else:
                gate.set()
                self._done.add(name)
        if first:
            gate.wait(self.wait_s)  # a second reader of the same counter, unless locked out
            with self._lock:
                self._done.add(name)

    def write(self, name: str, current: Any) -> None:
        reads = getattr(self.local, "read", {})
        if name in reads and current is not reads[name] and current != reads[name]:
            with self._lock:
                self.lost.add(name)


class _After:
    """The session, with :meth:`Interleaver.ran` after every run."""

    def __init__(self, session: Any, seen: Interleaver) -> None:
        self._session, self._seen = session, seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        result = self._session.run(*args, **kwargs)
        self._seen.ran()
        return result


class _GatedList(list):  # type: ignore[type-arg]
    """A list attribute whose number items are gated and compared like attributes."""

    def __init__(self, items: Any, name: str, seen: Interleaver) -> None:
        super().__init__(items)
        self._name, self._seen = name, seen

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if type(value) in _NUMBER:
            self._seen.read(f"{self._name}[{key!r}]", value)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int) and -len(self) <= key < len(self):
            current = super().__getitem__(key)
            if type(current) in _NUMBER:
                self._seen.write(f"{self._name}[{key!r}]", current)
        super().__setitem__(key, value)


class _GatedDict(dict):  # type: ignore[type-arg]
    """A dict attribute whose number values are gated and compared like attributes."""

    def __init__(self, items: Any, name: str, seen: Interleaver) -> None:
        super().__init__(items)
        self._name, self._seen = name, seen

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if type(value) in _NUMBER:
            self._seen.read(f"{self._name}[{key!r}]", value)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        current = super().get(key)
        if type(current) in _NUMBER:
            self._seen.write(f"{self._name}[{key!r}]", current)
        super().__setitem__(key, value)


def forcing(model_class: type, seen: Interleaver) -> type:
    """``model_class`` with every number attribute's reads gated and writes compared."""

    class Forced(model_class):  # type: ignore[misc, valid-type]
        def __init__(self, encoder: Any, *args: Any, **kwargs: Any) -> None:
            if dataclasses.is_dataclass(encoder):
                encoder = dataclasses.replace(encoder, session=_After(encoder.session, seen))
            super().__init__(encoder, *args, **kwargs)

        def predict(self, *args: Any, **kwargs: Any) -> Any:
            seen.local.after_run = False
            try:
                return super().predict(*args, **kwargs)
            finally:
                seen.local.after_run = False

        def __getattribute__(self, name: str) -> Any:
            value = super().__getattribute__(name)
            if type(value) in _NUMBER and not name.startswith("__"):
                seen.read(name, value)
            return value

        def __setattr__(self, name: str, value: Any) -> None:
            if type(value) is list:
                value = _GatedList(value, name, seen)
            elif type(value) is dict:
                value = _GatedDict(value, name, seen)
            if type(value) in _NUMBER:
                current = self.__dict__.get(name)
                if type(current) in _NUMBER:
                    seen.write(name, current)
            super().__setattr__(name, value)

    Forced.__name__ = Forced.__qualname__ = model_class.__name__
    return Forced


# --- Exercise 4.2: a record held between its read and its write -----------------------


class _Paused(int):
    """``texts`` for a ``record()`` that stops inside its first addition until told to go.

    An ``int`` subclass, so ``total += texts`` calls :meth:`__radd__` (a subclass's
    reflected method goes first): the recording thread is held between reading its total
    and writing it back, with no sleep and no luck involved.
    """

    inside: threading.Event
    go: threading.Event

    def __radd__(self, other: Any) -> Any:
        if not self.inside.is_set():
            self.inside.set()
            self.go.wait(_PAUSE_S)
        return other + int(self)

    __add__ = __radd__


_PAUSE_S = 5.0


def _paused(value: int) -> _Paused:
    paused = _Paused(value)
    paused.inside, paused.go = threading.Event(), threading.Event()
    return paused


def record_while_another_is_held(stats_class: type) -> str | None:
    """A fresh instance; thread A's record() is held in its addition while thread B records.

    Per-thread cells let B finish at once, and both records count. A shared total behind a
    lock keeps B waiting; a shared total without one loses A's or B's record.
    """
    stats = stats_class()
    texts = _paused(2)
    first = threading.Thread(target=stats.record, args=(texts, 0.5), name="recorder-held",
                             daemon=True)
    first.start()
    try:
        deadline = time.monotonic() + _PAUSE_S
        while not texts.inside.wait(0.01) and first.is_alive() and time.monotonic() < deadline:
            pass
        if not texts.inside.is_set():
            return None  # record() never added texts to anything: nothing to hold
        second = bounded(stats.record, 1.0, 2, 0.5, name="recorder-other")
    finally:
        texts.go.set()
        first.join(_PAUSE_S)
    if second.hung:
        return ("record() in one thread waited for record() in another: a shared lock on "
                "every record is what per-thread statistics avoid")
    if second.status == "raised":
        return f"record() raised {type(second.error).__name__}: {second.error}"
    snap = stats.snapshot()
    got = (getattr(snap, "calls", None), getattr(snap, "texts", None))
    if got == (2, 4):
        return None
    if got == (1, 2):
        return ("after one record in each of two threads (the first has ended), snapshot() "
                "gave calls, texts = (1, 2), expected (2, 4): a thread's records must count "
                "after it has ended")
    if got == (2, 2):
        return (f"two records made at the same time (one held between reading and writing "
                f"its total) gave calls, texts = {got}, expected (2, 4): one overwrote the "
                "other, as a shared counter without a lock does")
    return (f"after one record in each of two threads, snapshot() gave calls, texts = {got}, "
            "expected (2, 4): it must merge every thread's records")
