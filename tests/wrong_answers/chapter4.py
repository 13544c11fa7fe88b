"""Chapter 4: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from types import SimpleNamespace

from wrong_answers.common import encoder as _encoder
from wrong_answers.common import wrong

# --- 4.1 · a mean that survives threads -----------------------------------------------------


def _p41(model_class):
    from demos.shared_state import exercises

    return exercises.check_1(model_class, encoder=_encoder())


class _MeanModelBase:
    def __init__(self, encoder, max_batch=32):
        self.encoder, self.session = encoder, encoder.session
        self._lock = threading.Lock()
        self.calls, self.total_s = 0, 0.0

    def _run(self, texts):
        feeds = self.encoder.feeds(texts)
        start = time.perf_counter()
        (out,) = self.session.run(["sentence_embedding"], feeds)
        return out, time.perf_counter() - start

    def stats(self):
        with self._lock:
            return SimpleNamespace(calls=self.calls, mean_s=self.total_s / max(self.calls, 1))


@wrong("4.1", "an unlocked self.calls += 1 after the call", r"two threads read calls")
def _():
    class Unlocked(_MeanModelBase):
        def predict(self, texts):
            out, elapsed = self._run(texts)
            self.calls += 1
            self.total_s += elapsed
            return out

    return _p41(Unlocked)


@wrong("4.1", "calls under the lock, total_s outside it", r"two threads read total_s")
def _():
    class HalfLocked(_MeanModelBase):
        def predict(self, texts):
            out, elapsed = self._run(texts)
            with self._lock:
                self.calls += 1
            self.total_s += elapsed
            return out

    return _p41(HalfLocked)


@wrong("4.1", "a lock around the whole predict, model call included", r"never overlapped")
def _():
    class Serialised(_MeanModelBase):
        def predict(self, texts):
            with self._lock:
                out, elapsed = self._run(texts)
                self.calls += 1
                self.total_s += elapsed
            return out

    return _p41(Serialised)


@wrong("4.1", "the counters read under the lock before the call, written under it after",
       r"two threads read")
def _():
    class SplitLock(_MeanModelBase):
        def predict(self, texts):
            with self._lock:
                calls, total_s = self.calls, self.total_s
            out, elapsed = self._run(texts)
            with self._lock:
                self.calls, self.total_s = calls + 1, total_s + elapsed
            return out

    return _p41(SplitLock)


@wrong("4.1", "mean_s as the time of the last call only", r"mean_s is not the mean")
def _():
    class LastOnly(_MeanModelBase):
        def predict(self, texts):
            out, elapsed = self._run(texts)
            with self._lock:
                self.calls += 1
                self.total_s = elapsed * 1000
            return out

        def stats(self):
            with self._lock:
                return SimpleNamespace(calls=self.calls, mean_s=self.total_s)

    return _p41(LastOnly)


@wrong("4.1", "the whole predict timed, tokenization included, counters under the lock",
       r"mean_s is not the mean")
def _():
    class WholePredict(_MeanModelBase):
        def predict(self, texts):
            start = time.perf_counter()
            out, _ = self._run(texts)
            elapsed = time.perf_counter() - start
            with self._lock:
                self.calls += 1
                self.total_s += elapsed
            return out

    return _p41(WholePredict)


@wrong("4.1", "mean_s as the last call's model time, in seconds", r"mean_s is not the mean")
def _():
    class LastSeconds(_MeanModelBase):
        def predict(self, texts):
            out, elapsed = self._run(texts)
            with self._lock:
                self.calls += 1
                self.total_s = elapsed
            return out

        def stats(self):
            with self._lock:
                return SimpleNamespace(calls=self.calls, mean_s=self.total_s)

    return _p41(LastSeconds)


@wrong("4.1", "locked updates after the call, but stats() reads the two numbers without the "
       "lock", r"stats\(\) ran while another call was halfway through its update")
def _():
    import threading
    import time

    class UnlockedRead:
        def __init__(self, encoder, max_batch=32):
            self.encoder, self.session = encoder, encoder.session
            self._lock = threading.Lock()
            self.calls, self.total_s = 0, 0.0

        def predict(self, texts):
            feeds = self.encoder.feeds(texts)
            start = time.perf_counter()
            (out,) = self.session.run(["sentence_embedding"], feeds)
            elapsed = time.perf_counter() - start
            with self._lock:
                self.calls += 1
                self.total_s += elapsed
            return out

        def stats(self):
            from types import SimpleNamespace

            return SimpleNamespace(calls=self.calls, mean_s=self.total_s / max(self.calls, 1))

    return _p41(UnlockedRead)


@wrong("4.1", "locked updates of numbers kept in a dict, stats() reads them without the lock",
       r"stats\(\) ran while another call was halfway through its update")
def _():
    class DictUnlockedRead(_MeanModelBase):
        def __init__(self, encoder, max_batch=32):
            super().__init__(encoder, max_batch)
            self._s = {"calls": 0, "total_s": 0.0}

        def predict(self, texts):
            out, elapsed = self._run(texts)
            with self._lock:
                self._s["calls"] += 1
                self._s["total_s"] += elapsed
            return out

        def stats(self):
            return SimpleNamespace(calls=self._s["calls"],
                                   mean_s=self._s["total_s"] / max(self._s["calls"], 1))

    return _p41(DictUnlockedRead)


@wrong("4.1", "locked updates of numbers kept on a namespace object, stats() reads them "
       "without the lock", r"stats\(\) ran while another call was halfway through its update")
def _():
    class NamespaceUnlockedRead(_MeanModelBase):
        def __init__(self, encoder, max_batch=32):
            super().__init__(encoder, max_batch)
            self._n = SimpleNamespace(calls=0, total_s=0.0)

        def predict(self, texts):
            out, elapsed = self._run(texts)
            with self._lock:
                self._n.calls += 1
                self._n.total_s += elapsed
            return out

        def stats(self):
            return SimpleNamespace(calls=self._n.calls,
                                   mean_s=self._n.total_s / max(self._n.calls, 1))

    return _p41(NamespaceUnlockedRead)


# --- 4.2 · per-thread statistics ------------------------------------------------------------


def _p42(stats_class):
    from demos.shared_state import exercises

    return exercises.check_2(stats_class)


@wrong("4.2", "one shared counter, no lock", r"one overwrote the other")
def _():
    class Shared:
        def __init__(self):
            self.calls, self.texts, self.model_s = 0, 0, 0.0

        def record(self, texts, seconds):
            self.calls += 1
            self.texts += texts
            self.model_s += seconds

        def snapshot(self):
            return SimpleNamespace(calls=self.calls, texts=self.texts, model_s=self.model_s)

    return _p42(Shared)


@wrong("4.2", "one shared counter behind a lock: every record waits", r"waited for record")
def _():
    class Locked:
        def __init__(self):
            self._lock = threading.Lock()
            self.calls, self.texts, self.model_s = 0, 0, 0.0

        def record(self, texts, seconds):
            with self._lock:
                self.calls += 1
                self.texts += texts
                self.model_s += seconds

        def snapshot(self):
            with self._lock:
                return SimpleNamespace(calls=self.calls, texts=self.texts, model_s=self.model_s)

    return _p42(Locked)


@wrong("4.2", "cells per thread, kept in a WeakKeyDictionary: ended threads vanish",
       r"after it has ended")
def _():
    import weakref

    class Weak:
        def __init__(self):
            self._lock = threading.Lock()
            self._cells = weakref.WeakKeyDictionary()

        def record(self, texts, seconds):
            me = threading.current_thread()
            with self._lock:
                cell = self._cells.setdefault(me, [0, 0, 0.0])
            cell[0] += 1
            cell[1] += texts
            cell[2] += seconds

        def snapshot(self):
            with self._lock:
                cells = [tuple(c) for c in self._cells.values()]
            return SimpleNamespace(calls=sum(c[0] for c in cells), texts=sum(c[1] for c in cells),
                                   model_s=sum(c[2] for c in cells))

    return _p42(Weak)


@wrong("4.2", "thread-local cells, but snapshot() reads only the caller's", r"merge every thread")
def _():
    class OwnOnly:
        def __init__(self):
            self._local = threading.local()

        def record(self, texts, seconds):
            cell = getattr(self._local, "cell", None)
            if cell is None:
                cell = self._local.cell = [0, 0, 0.0]
            cell[0] += 1
            cell[1] += texts
            cell[2] += seconds

        def snapshot(self):
            cell = getattr(self._local, "cell", [0, 0, 0.0])
            return SimpleNamespace(calls=cell[0], texts=cell[1], model_s=cell[2])

    return _p42(OwnOnly)


# --- 4.3 · a pool of scratch buffers --------------------------------------------------------


def _p43(pool_class):
    from demos.shared_state import exercises

    return exercises.check_3(pool_class)


@wrong("4.3", "a new buffer for every borrow", r"buffers made for a pool of 2")
def _():
    class Fresh:
        def __init__(self, size, make):
            self._make = make

        @contextlib.contextmanager
        def borrow(self, timeout_s):
            yield self._make()

    return _p43(Fresh)


@wrong("4.3", "a lock held while the buffer is out", r"could never hold buffers")
def _():
    class OneAtATime:
        def __init__(self, size, make):
            self._lock = threading.Lock()
            self._buffer = make()

        @contextlib.contextmanager
        def borrow(self, timeout_s):
            with self._lock:
                yield self._buffer

    return _p43(OneAtATime)


class _QueuePool:
    def __init__(self, size, make):
        self._free = queue.Queue()
        for _ in range(size):
            self._free.put(make())


@wrong("4.3", "a queue of buffers whose get() ignores timeout_s", r"ignored its timeout_s")
def _():
    class NoTimeout(_QueuePool):
        @contextlib.contextmanager
        def borrow(self, timeout_s):
            buffer = self._free.get()
            try:
                yield buffer
            finally:
                self._free.put(buffer)

    return _p43(NoTimeout)


@wrong("4.3", "the buffer is put back only when the block succeeds", r"not returned when")
def _():
    class NoFinally(_QueuePool):
        @contextlib.contextmanager
        def borrow(self, timeout_s):
            try:
                buffer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError("no buffer") from None
            yield buffer
            self._free.put(buffer)

    return _p43(NoFinally)


@wrong("4.3", "a slot released in finally, the buffer put back only on normal exit",
       r"not returned when the caller's block raised \(3 buffers made")
def _():
    class LosesOnError:
        def __init__(self, size, make):
            self._slots = threading.BoundedSemaphore(size)
            self._lock = threading.Lock()
            self._free, self._make = [], make

        @contextlib.contextmanager
        def borrow(self, timeout_s):
            if not self._slots.acquire(timeout=timeout_s):
                raise TimeoutError("no buffer")
            try:
                with self._lock:
                    buffer = self._free.pop() if self._free else None
                if buffer is None:
                    buffer = self._make()
                yield buffer
                with self._lock:
                    self._free.append(buffer)
            finally:
                self._slots.release()

    return _p43(LosesOnError)


@wrong("4.3", "the buffer put back in except and again in finally", r"put back twice")
def _():
    class TwiceOnError:
        def __init__(self, size, make):
            self._slots = threading.BoundedSemaphore(size)
            self._lock = threading.Lock()
            self._free, self._make = [], make

        @contextlib.contextmanager
        def borrow(self, timeout_s):
            if not self._slots.acquire(timeout=timeout_s):
                raise TimeoutError("no buffer")
            try:
                with self._lock:
                    buffer = self._free.pop() if self._free else self._make()
                try:
                    yield buffer
                except BaseException:
                    with self._lock:
                        self._free.append(buffer)
                    raise
                finally:
                    with self._lock:
                        self._free.append(buffer)
            finally:
                self._slots.release()

    return _p43(TwiceOnError)


@wrong("4.3", "queue.Empty let out instead of TimeoutError", r"raised Empty, not TimeoutError")
def _():
    class Empty(_QueuePool):
        @contextlib.contextmanager
        def borrow(self, timeout_s):
            buffer = self._free.get(timeout=timeout_s)
            try:
                yield buffer
            finally:
                self._free.put(buffer)

    return _p43(Empty)


# --- 4.4 · intra-op threads per request thread --------------------------------------------


def _p44(choose):
    from demos.shared_state import exercises

    return exercises.check_4(choose)


def _checked(layout, request_threads, cores):
    if layout not in ("shared session", "session per thread", "process per worker"):
        raise ValueError(f"unknown layout {layout!r}")
    if request_threads < 1 or cores < 1:
        raise ValueError("counts must be >= 1")


@wrong("4.4", "request threads × intra-op threads for every layout, the shared session too",
       r"choose\('shared session', 2, 8\) = 4, expected 7")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "cores - request_threads for a shared session: the calling thread forgotten",
       r"choose\('shared session', 1, 8\) = 7, expected 8")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if layout == "shared session":
            return max(1, cores - request_threads)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "a shared session always gets every core", r"choose\('shared session', 2, 8\) = 8")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        return cores if layout == "shared session" else max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "worker processes counted like a shared session",
       r"choose\('process per worker', 4, 8\) = 5, expected 2")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if layout == "session per thread":
            return max(1, cores // request_threads)
        return max(1, cores - request_threads + 1)

    return _p44(choose)


@wrong("4.4", "cores // request_threads: 0 when there are more threads than cores",
       r"choose\('session per thread', 16, 8\) = 0")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return cores // request_threads

    return _p44(choose)


@wrong("4.4", "right values, an unknown layout accepted", r"choose\('thread pool', 2, 8\) returned")
def _():
    def choose(layout, request_threads, cores):
        if request_threads < 1 or cores < 1:
            raise ValueError("counts must be >= 1")
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "right values, only a count of 0 rejected",
       r"choose\('process per worker', -1, 8\) returned instead of raising ValueError")
def _():
    def choose(layout, request_threads, cores):
        if layout not in ("shared session", "session per thread", "process per worker"):
            raise ValueError(f"unknown layout {layout!r}")
        if request_threads == 0 or cores == 0:
            raise ValueError("counts must not be 0")
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "counts checked with < 1, so True is taken for 1",
       r"choose\('session per thread', True, 8\) returned instead of raising ValueError")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "request_threads checked, cores not: True taken for 1 core",
       r"choose\('shared session', 2, True\) returned instead of raising ValueError")
def _():
    def choose(layout, request_threads, cores):
        if layout not in ("shared session", "session per thread", "process per worker"):
            raise ValueError(f"unknown layout {layout!r}")
        if isinstance(request_threads, bool) or not isinstance(request_threads, int):
            raise ValueError(f"request_threads must be an int, got {request_threads!r}")
        if request_threads < 1 or cores < 1:
            raise ValueError("counts must be >= 1")
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, cores // request_threads)

    return _p44(choose)


@wrong("4.4", "np.floor of a true division: a numpy float, which intra_op_num_threads refuses",
       r"returned np\.float64\(4\.0\), a float64: intra_op_num_threads must be an int")
def _():
    import numpy as np

    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if isinstance(request_threads, bool) or isinstance(cores, bool):
            raise ValueError("counts must be ints")
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, np.floor(cores / request_threads))

    return _p44(choose)


@wrong("4.4", "rounded up instead of down", r"choose\('session per thread', 3, 8\) = 3")
def _():
    def choose(layout, request_threads, cores):
        _checked(layout, request_threads, cores)
        if layout == "shared session":
            return max(1, cores - request_threads + 1)
        return max(1, -(-cores // request_threads))

    return _p44(choose)


@wrong("4.1", "the counters in a dict, updated without a lock", r"two threads read stats_\[")
def _():
    class InADict(_MeanModelBase):
        def __init__(self, encoder, max_batch=32):
            super().__init__(encoder, max_batch)
            self.stats_ = {"calls": 0, "total_s": 0.0}

        def predict(self, texts):
            out, elapsed = self._run(texts)
            self.stats_["calls"] += 1
            self.stats_["total_s"] += elapsed
            return out

        def stats(self):
            calls = self.stats_["calls"]
            return SimpleNamespace(calls=calls, mean_s=self.stats_["total_s"] / max(calls, 1))

    return _p41(InADict)


@wrong("4.1", "the counters in a list, updated without a lock", r"two threads read totals\[")
def _():
    class InAList(_MeanModelBase):
        def __init__(self, encoder, max_batch=32):
            super().__init__(encoder, max_batch)
            self.totals = [0, 0.0]

        def predict(self, texts):
            out, elapsed = self._run(texts)
            self.totals[0] += 1
            self.totals[1] += elapsed
            return out

        def stats(self):
            calls, total_s = self.totals
            return SimpleNamespace(calls=calls, mean_s=total_s / max(calls, 1))

    return _p41(InAList)
