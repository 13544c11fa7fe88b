"""The hooks exercise 2.3's check puts into the reader's object (:mod:`.reload_check`).

* :class:`FirstReads` makes each request's first read of a count (an ``int`` attribute,
  an item of a dict or list attribute, subclasses such as ``defaultdict`` and ``Counter``
  included) wait until the other request has read too, unless one of the object's locks
  is held: a count read without a lock then loses an update in every run.
* :class:`HookedLock` wraps one of the object's locks so that a release, or an acquire,
  calls back: the check reloads at that moment.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["IN_FLIGHT", "LOCKS", "READ_WAIT_S", "FirstReads", "HookedLock"]

#: How many requests are inside the old model while it is reloaded (and read a count).
IN_FLIGHT = 2
#: How long a request's first read waits for the other's when no lock of the reader's is
#: held (a lock kept elsewhere, in a closure or a module, costs the check this much once).
READ_WAIT_S = 1.0


def _held(value: Any) -> bool:
    """Whether ``value`` is a lock (Lock, RLock, Condition) that some thread holds."""
    if isinstance(value, threading.Condition):
        return _held(value._lock)
    if isinstance(value, HookedLock):
        return _held(value.inner)
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
        """Route the reads of the reader's ``int`` attributes, dict and list items here."""
        first_read = self.first_read
        for name, value in list(vars(self._served).items()):
            if isinstance(value, (Mapping, list)):
                with contextlib.suppress(Exception):  # a container that cannot be copied
                    setattr(self._served, name, _pausing(value, first_read))
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


def _pausing(value: Any, first_read: Callable[[], None]) -> Any:
    """A copy of ``value``, of a subclass of its own type, whose items call ``first_read``.

    Reads call it after reading (both requests read before either writes); writes before
    writing. A ``defaultdict`` keeps its ``default_factory``.
    """
    base = type(value)

    def __getitem__(self: Any, key: Any) -> Any:
        item = base.__getitem__(self, key)
        first_read()
        return item

    def __setitem__(self: Any, key: Any, item: Any) -> None:
        first_read()
        base.__setitem__(self, key, item)

    def get(self: Any, key: Any, default: Any = None) -> Any:
        item = base.get(self, key, default)
        first_read()
        return item

    hooks = {"__getitem__": __getitem__, "__setitem__": __setitem__}
    if isinstance(value, Mapping):
        hooks["get"] = get
    pausing = type(base.__name__, (base,), hooks)
    if isinstance(value, defaultdict):
        return pausing(value.default_factory, value)
    return pausing(value)


class HookedLock:
    """One of the reader's locks, unchanged, except that a release calls ``after_release``
    and an acquire first calls ``before_acquire``."""

    def __init__(self, inner: Any, after_release: Callable[[], None],
                 before_acquire: Callable[[], None] = lambda: None) -> None:
        self.inner, self._after, self._before = inner, after_release, before_acquire

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        self._before()
        return self.inner.acquire(*args, **kwargs)

    def release(self) -> None:
        self.inner.release()
        self._after()

    def __enter__(self) -> Any:
        self._before()
        return self.inner.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)
        self._after()

    def __getattr__(self, name: str) -> Any:  # wait, notify, locked, ...
        return getattr(self.inner, name)


LOCKS = (threading.Condition, type(threading.Lock()), type(threading.RLock()))
