"""How to read this book: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import contextlib
import threading

from wrong_answers.common import wrong

# --- H.1 · a lock its holder may take again ----------------------------------------------


class _AlwaysFreeLock:
    """acquire() always succeeds; acquire(timeout=...) or non-blocking says "taken"."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return blocking and timeout < 0

    def release(self) -> None:
        pass

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class _OwnerLock:
    """Remembers which thread holds it but not how often: the inner release frees it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._owner == threading.get_ident():
            return True
        if self._lock.acquire(blocking, timeout):
            self._owner = threading.get_ident()
            return True
        return False

    def release(self) -> None:
        if self._owner is not None:  # the outer release finds it already free: no error
            self._owner = None
            self._lock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _h1(make_lock):
    from demos import tour

    return tour.check_reentrant_lock(make_lock)


@wrong("H.1", "a lock whose timed acquire fails at once, so it excludes no one", "second thread")
def _():
    return _h1(_AlwaysFreeLock)


@wrong("H.1", "a semaphore of 3: re-entry works, exclusion does not", "second thread")
def _():
    return _h1(lambda: threading.Semaphore(3))


@wrong("H.1", "a bounded semaphore of 2", "second thread")
def _():
    return _h1(lambda: threading.BoundedSemaphore(2))


@wrong("H.1", "a lock that knows its owner but does not count re-entries",
       "taken twice, released once")
def _():
    return _h1(_OwnerLock)


@wrong("H.1", "a plain Lock (the stub)", "could not take it again")
def _():
    return _h1(threading.Lock)


@wrong("H.1", "contextlib.nullcontext, not a lock at all", "no acquire")
def _():
    return _h1(contextlib.nullcontext)
