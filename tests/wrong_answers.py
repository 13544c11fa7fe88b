"""Wrong-but-plausible answers to every exercise, as a learner or an adversary writes them.

Each entry of :data:`WRONG` is ``(exercise, what the answer gets wrong, a function that runs
the answer through its check and returns the Verdict, a regex the message must match)``:
the message must name the mistake, not only say "not yet".
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import ml_dtypes
import numpy as np

WRONG: list[tuple[str, str, Callable, str]] = []


def wrong(number: str, label: str, named: str) -> Callable[[Callable], Callable]:
    def register(answer: Callable) -> Callable:
        WRONG.append((number, label, answer, named))
        return answer

    return register


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


@wrong("H.1", "a plain Lock (the stub)", "could not take it again")
def _():
    return _h1(threading.Lock)


@wrong("H.1", "contextlib.nullcontext, not a lock at all", "no acquire")
def _():
    return _h1(contextlib.nullcontext)


# --- 0.1 · mean pooling ---------------------------------------------------------------------


def _p01(pool):
    from demos import tour

    return tour.check_mean_pool(pool, encoder=_encoder())


_ENCODER: list = []


def _encoder():
    if not _ENCODER:
        from demos.models import load_encoder

        _ENCODER.append(load_encoder())
    return _ENCODER[0]


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@wrong("0.1", "masked mean, not scaled to length 1", r"0 of yours have length 1")
def _():
    return _p01(lambda h, m: (h * m[..., None]).sum(1) / m.sum(1, keepdims=True))


@wrong("0.1", "scaled to length 1, but the padding averaged in", r"2 of the 3 texts are padded")
def _():
    return _p01(lambda h, m: _unit(h.mean(axis=1)))


@wrong("0.1", "the [CLS] vector, scaled", r"differ from the model's")
def _():
    return _p01(lambda h, m: _unit(h[:, 0]))


@wrong("0.1", "max pooling over real tokens, scaled", r"differ from the model's")
def _():
    return _p01(lambda h, m: _unit(np.where(m[..., None] > 0, h, -np.inf).max(axis=1)))


# --- 1.1 · a float32 running mean -----------------------------------------------------------


class _RunningMeanBase:
    def __init__(self):
        self._total = np.float32(0.0)
        self._count = 0

    @property
    def count(self):
        return self._count

    def total(self):
        return np.float32(self._total)

    def mean(self):
        return np.float32(self._total / self._count)


def _p11(cls):
    from demos.precision import exercises

    return exercises.check_1(cls)


@wrong("1.1", "keeps only the last batch's mean", r"values vary")
def _():
    class LastMean(_RunningMeanBase):
        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            self._last = np.float32(values.mean(dtype=np.float32))
            self._count += values.size

        def mean(self):
            return self._last

    return _p11(LastMean)


@wrong("1.1", "a float64 total inside a one-element array", r"array of float64")
def _():
    class Boxed(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = np.zeros(1, np.float64)

        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            self._total += values.sum(dtype=np.float64)
            self._count += values.size

        def mean(self):
            return np.float32(self._total[0] / self._count)

    return _p11(Boxed)


@wrong("1.1", "a Python float total (float64 by another name)", r"keeps float")
def _():
    class PyFloat(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = 0.0

        def add(self, batch):
            self._total += float(np.asarray(batch, np.float32).sum(dtype=np.float64))
            self._count += np.size(batch)

    return _p11(PyFloat)


@wrong("1.1", "keeps every batch in float32 and sums them at the end", r"must not grow")
def _():
    class KeepAll(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._batches = []

        def add(self, batch):
            self._batches.append(np.asarray(batch, np.float32))
            self._count += np.size(batch)

        def total(self):
            return np.float32(np.concatenate(self._batches).sum(dtype=np.float64))

        def mean(self):
            return np.float32(self.total() / self._count)

    return _p11(KeepAll)


@wrong("1.1", "Kahan with the compensation added instead of subtracted", r"streams off by")
def _():
    class WrongSign(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._carry = np.float32(0.0)

        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            y = values.sum(dtype=np.float32) + self._carry
            t = np.float32(self._total + y)
            self._carry = np.float32((t - self._total) - y)
            self._total = t
            self._count += values.size

    return _p11(WrongSign)


@wrong("1.1", "the float64 total hidden in a list", r"keeps float")
def _():
    class Listed(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = [0.0]

        def add(self, batch):
            self._total[0] += float(np.asarray(batch, np.float32).sum(dtype=np.float64))
            self._count += np.size(batch)

        def mean(self):
            return np.float32(self._total[0] / self._count)

    return _p11(Listed)


# --- 1.2 · a checked cast to bfloat16 -------------------------------------------------------

_BF16 = ml_dtypes.bfloat16


def _p12(cast):
    from demos.precision import exercises

    return exercises.check_2(cast)


@wrong("1.2", "refuses overflow only", r"the id 257 passed in silence")
def _():
    def cast(values, rtol=None):
        out = np.asarray(values, np.float64).astype(_BF16)
        if not np.all(np.isfinite(out.astype(np.float64))):
            raise ValueError("overflow")
        return out

    return _p12(cast)


@wrong("1.2", "refuses overflow and inexact ids, lets subnormals lose bits", r"1e-40.*silence")
def _():
    def cast(values, rtol=None):
        x = np.asarray(values, np.float64)
        out = x.astype(_BF16)
        if not np.all(np.isfinite(out.astype(np.float64))):
            raise ValueError("overflow")
        if np.all(x == np.round(x)) and np.any(np.abs(x) > 256):
            raise ValueError("id")
        return out

    return _p12(cast)


@wrong("1.2", "a relative budget of float32's epsilon, refusing ordinary values", r"raised")
def _():
    def cast(values, rtol=None):
        x = np.asarray(values, np.float64)
        out = x.astype(_BF16)
        if np.any(np.abs(out.astype(np.float64) - x) > 1.2e-7 * np.abs(x)):
            raise ValueError("moved")
        return out

    return _p12(cast)


@wrong("1.2", "checks right, but returns float32", r"came back as float32")
def _():
    def cast(values, rtol=None):
        x = np.asarray(values, np.float64)
        out = x.astype(_BF16)
        back = out.astype(np.float64)
        if np.any(np.isfinite(x) & ~np.isfinite(back)) or np.any(
                np.abs(back - x) > float(ml_dtypes.finfo(_BF16).eps) * np.abs(x)):
            raise ValueError("out of budget")
        if np.all(x == np.round(x)) and np.any(np.abs(x) > 256):
            raise ValueError("id")
        return back.astype(np.float32)

    return _p12(cast)


# --- 1.3 · an int8 cast ---------------------------------------------------------------------


def _p13(quantize):
    from demos.precision import exercises

    return exercises.check_3(quantize)


@wrong("1.3", "rounds, but wraps what does not fit", r"out of range: returned")
def _():
    return _p13(lambda v, s: np.rint(np.asarray(v, np.float64) / s).astype(np.int8))


@wrong("1.3", "rounds and clips: saturates in silence", r"out of range: returned")
def _():
    return _p13(lambda v, s: np.clip(np.rint(np.asarray(v) / s), -128, 127).astype(np.int8))


@wrong("1.3", "truncates toward zero, refuses what does not fit", r"round to 3 and -3: got")
def _():
    def quantize(values, scale):
        q = np.trunc(np.asarray(values, np.float64) / scale)
        if not np.all(np.isfinite(q)) or np.any((q < -128) | (q > 127)):
            raise ValueError("out of range")
        return q.astype(np.int8)

    return _p13(quantize)


@wrong("1.3", "range checked, nan let through", r"nan has no int8")
def _():
    def quantize(values, scale):
        q = np.rint(np.asarray(values, np.float64) / scale)
        if np.any((q < -128) | (q > 127)):
            raise ValueError("out of range")
        with np.errstate(invalid="ignore"):
            return q.astype(np.int8)

    return _p13(quantize)


# --- 2.1 · once(init) -----------------------------------------------------------------------


def _p21(once):
    from demos.publication import exercises

    return exercises.check_1(once)


@wrong("2.1", "a lock, but no second check: every thread that waited runs init again",
       r"init ran more than once")
def _():
    def once(init):
        lock, box = threading.Lock(), []

        def get():
            if not box:
                with lock:
                    box.append(init())
            return box[-1]

        return get

    return _p21(once)


@wrong("2.1", "functools.cache on a function of no arguments", r"init ran more than once")
def _():
    import functools

    return _p21(lambda init: functools.cache(init))


@wrong("2.1", "a failed init remembered forever", r"after a failed init")
def _():
    def once(init):
        lock, box = threading.Lock(), []

        def get():
            with lock:
                if not box:
                    try:
                        box.append(("ok", init()))
                    except Exception as error:
                        box.append(("error", error))
            kind, value = box[0]
            if kind == "error":
                raise value
            return value

        return get

    return _p21(once)


@wrong("2.1", "None as 'not loaded yet', checked twice under a lock, init's error swallowed",
       r"did not raise")
def _():
    def once(init):
        lock, box = threading.Lock(), [None]

        def get():
            if box[0] is None:
                with lock:
                    if box[0] is None:
                        with contextlib.suppress(Exception):
                            box[0] = init()
            return box[0]

        return get

    return _p21(once)


# --- 2.2 · readiness ------------------------------------------------------------------------


def _p22(readiness):
    from demos.publication import exercises

    return exercises.check_2(readiness)


@wrong("2.2", "waits for the model with get(): blocks while loading", r"blocked on a loading")
def _():
    from demos.publication import fixed

    def readiness(holder):
        try:
            holder.get()
            return 200, "ready"
        except fixed.ModelLoadError as error:
            return 500, f"failed: {error.__cause__!r}"

    return _p22(readiness)


@wrong("2.2", "500 without the load error's text", r"does not name the load error")
def _():
    from demos.publication import fixed

    def readiness(holder):
        if holder.is_ready():
            return 200, "ready"
        try:
            holder.get(timeout_s=0.001)
        except fixed.ModelLoadError:
            return 500, "failed"
        except fixed.ModelNotReadyError:
            return 503, "loading"
        return 200, "ready"

    return _p22(readiness)


@wrong("2.2", "every error a 500: loading reported as failed", r"loading: got 500")
def _():
    def readiness(holder):
        if holder.is_ready():
            return 200, "ready"
        try:
            holder.get(timeout_s=0.001)
        except Exception as error:
            return 500, f"failed: {error!r} {error.__cause__!r}"
        return 200, "ready"

    return _p22(readiness)


# --- 2.3 · hot reload -----------------------------------------------------------------------


def _p23(reloadable):
    from demos.publication import exercises

    return exercises.check_3(reloadable)


@wrong("2.3", "never closes the old model", r"closed 0 times")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model = model

        def predict(self, ids):
            return self._model.predict(ids)

        def reload(self, new_model):
            self._model = new_model

    return _p23(Reloadable)


@wrong("2.3", "a lock around predict and reload: requests are served one at a time",
       r"one at a time")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._lock = model, threading.Lock()

        def predict(self, ids):
            with self._lock:
                return self._model.predict(ids)

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
            old.close()

    return _p23(Reloadable)


@wrong("2.3", "closes the old model when the next request arrives", r"still open after")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._old = model, None

        def predict(self, ids):
            if self._old is not None:
                self._old.close()
                self._old = None
            return self._model.predict(ids)

        def reload(self, new_model):
            self._old, self._model = self._model, new_model

    return _p23(Reloadable)


@wrong("2.3", "counts requests under a lock, but forgets a busy old model", r"closed 0 times")
def _():
    class Reloadable:
        def __init__(self, model):
            self._model, self._users, self._lock = model, {}, threading.Lock()

        def predict(self, ids):
            with self._lock:
                model = self._model
                self._users[id(model)] = self._users.get(id(model), 0) + 1
            try:
                return model.predict(ids)
            finally:
                with self._lock:
                    self._users[id(model)] -= 1

        def reload(self, new_model):
            with self._lock:
                old, self._model = self._model, new_model
                idle = self._users.get(id(old), 0) == 0
            if idle:
                old.close()

    return _p23(Reloadable)


# --- 3.1 · deadlines in a batcher ---------------------------------------------------------


def _p31(batcher_class):
    from demos.batching import exercises

    return exercises.check_1(batcher_class)


def _batcher():
    from demos.batching import fixed

    return fixed.MicroBatcher


@wrong("3.1", "fails every request whose deadline is under 1 s, never reads the clock",
       r"[0-4] of 5 live requests answered")
def _():
    class Threshold(_batcher()):
        async def submit(self, item, deadline_s):
            if deadline_s <= 1.0:
                raise TimeoutError("deadline too short")
            return await super().submit(item)

    return _p31(Threshold)


@wrong("3.1", "checks the deadline when the request is submitted", r"0 of 3 expired")
def _():
    class AtSubmit(_batcher()):
        async def submit(self, item, deadline_s):
            if deadline_s <= 0:
                raise TimeoutError("deadline passed")
            return await super().submit(item)

    return _p31(AtSubmit)


@wrong("3.1", "fails expired requests after the model call", r"[1-3] of 3 reached the model")
def _():
    class AfterCall(_batcher()):
        async def submit(self, item, deadline_s):
            deadline = asyncio.get_running_loop().time() + deadline_s
            answer = await super().submit(item)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("too late")
            return answer

    return _p31(AfterCall)


@wrong("3.1", "fails the whole batch when any request in it has expired",
       r"[0-4] of 5 live requests answered")
def _():
    class WholeBatch(_batcher()):
        async def submit(self, item, deadline_s):
            deadline = asyncio.get_running_loop().time() + deadline_s
            return await super().submit((deadline, item))

        async def _flush(self, batch):
            now = asyncio.get_running_loop().time()
            if any(r.item[0] < now for r in batch):
                for request in batch:
                    request.fail(TimeoutError("a deadline passed"))
            await super()._flush(batch)

        async def _call(self, items):
            return await super()._call([item for _, item in items])

    return _p31(WholeBatch)


# --- 3.2 · a token estimate -----------------------------------------------------------------


def _p32(size):
    from demos.batching import exercises

    return exercises.check_2(size)


@wrong("3.2", "characters counted as tokens", r"in 2\d calls .*in at most 18")
def _():
    return _p32(len)


@wrong("3.2", "words counted as tokens", r"padded tokens per useful token")
def _():
    return _p32(lambda text: max(1, len(text.split())))


@wrong("3.2", "a float estimate", r"must return an int >= 1, got")
def _():
    return _p32(lambda text: len(text) / 4 + 2)


@wrong("3.2", "a constant: every text the same size", r"padded tokens per useful token")
def _():
    return _p32(lambda text: 64)


# --- 3.3 · deduplication ----------------------------------------------------------------------


def _p33(batcher_class):
    from demos.batching import exercises

    return exercises.check_3(batcher_class)


@wrong("3.3", "sends each item once but answers in the unique items' order",
       r"[0-5] of 6 answers right")
def _():
    class Unmapped(_batcher()):
        async def _call(self, items):
            unique = list(dict.fromkeys(items))
            outputs = await super()._call(unique)
            return (outputs * len(items))[: len(items)]

    return _p33(Unmapped)


@wrong("3.3", "deduplicates the answers, not the model's input", r"model got 6 items")
def _():
    class AfterTheFact(_batcher()):
        async def _call(self, items):
            outputs = await super()._call(items)
            first = dict(zip(items, outputs, strict=True))
            return [first[item] for item in items]

    return _p33(AfterTheFact)


@wrong("3.3", "drops repeats and returns fewer answers than requests",
       r"raised|[0-5] of 6 answers right")
def _():
    class Dropped(_batcher()):
        async def _call(self, items):
            return await super()._call(list(dict.fromkeys(items)))

    return _p33(Dropped)


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


@wrong("4.4", "cores // request_threads: 0 when there are more threads than cores",
       r"choose\(16, 8\) = 0")
def _():
    def choose(request_threads, cores):
        if request_threads < 1 or cores < 1:
            raise ValueError("counts must be >= 1")
        return cores // request_threads

    return _p44(choose)


@wrong("4.4", "every core for every request thread", r"choose\(2, 8\) = 8")
def _():
    def choose(request_threads, cores):
        if request_threads < 1 or cores < 1:
            raise ValueError("counts must be >= 1")
        return cores

    return _p44(choose)


@wrong("4.4", "right values, bad counts accepted", r"returned instead of raising")
def _():
    return _p44(lambda request_threads, cores: max(1, cores // max(request_threads, 1)))


@wrong("4.4", "rounded up instead of down", r"choose\(3, 8\) = 3")
def _():
    def choose(request_threads, cores):
        if request_threads < 1 or cores < 1:
            raise ValueError("counts must be >= 1")
        return max(1, -(-cores // request_threads))

    return _p44(choose)


# --- 5.1 · outputs by name, defaults on purpose -------------------------------------------


def _p51(contract_class):
    from demos.input_contract import exercises

    return exercises.check_1(contract_class)


def _contract():
    from demos.input_contract import broken

    return broken


@wrong("5.1", "the default's name written into the class", r"second model.*passed in silence")
def _():
    broken = _contract()

    class HardCoded(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            if "logits" in arrays and "temperature" not in set(arrays) | set(use_defaults):
                raise broken.ContractError("input 'temperature' was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(HardCoded)


@wrong("5.1", "outputs asked by position, then labelled with the names asked for",
       r"silent wrong")
def _():
    broken = _contract()

    class Positional(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays and spec.name not in use_defaults:
                    raise broken.ContractError(f"input {spec.name!r} was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            values = self.session.run(None, self.feeds(arrays))
            return dict(zip(names, values, strict=True))

    return _p51(Positional)


@wrong("5.1", "every default refused, even those listed in use_defaults",
       r"no longer takes the stored default|ContractError")
def _():
    broken = _contract()

    class Refuses(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays:
                    raise broken.ContractError(f"input {spec.name!r} was left out")
            return super().run(arrays, outputs, use_defaults=use_defaults)

    return _p51(Refuses)


@wrong("5.1", "a KeyError instead of the ContractError", r"clear error is a ContractError")
def _():
    broken = _contract()

    class KeyErr(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays and spec.name not in use_defaults:
                    raise KeyError(spec.name)
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(KeyErr)


# --- 5.2 · feeds for a second model ---------------------------------------------------------

_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
_DTYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


def _p52(make_feeds):
    from demos.input_contract import exercises

    return exercises.check_2(make_feeds)


def _declared_feeds(session, encodings, fields=_FIELDS):
    feeds = {}
    for spec in session.get_inputs():
        if spec.name not in fields:
            raise ValueError(f"cannot supply input {spec.name!r} from a tokenizer")
        feeds[spec.name] = np.array([getattr(e, fields[spec.name]) for e in encodings],
                                    _DTYPES[spec.type])
    return feeds


@wrong("5.2", "input_ids and attention_mask swapped", r"wrong values fed as")
def _():
    swapped = {**_FIELDS, "input_ids": "attention_mask", "attention_mask": "ids"}
    return _p52(lambda session, encodings: _declared_feeds(session, encodings, swapped))


@wrong("5.2", "fed by position: ids, mask, types, whatever the declared order",
       r"inputs in another order: wrong values fed")
def _():
    def feeds(session, encodings):
        columns = [[e.ids for e in encodings], [e.attention_mask for e in encodings],
                   [e.type_ids for e in encodings]]
        out = {}
        for spec, column in zip(session.get_inputs(), columns, strict=False):
            if spec.name not in _FIELDS:
                raise ValueError(f"cannot supply input {spec.name!r}")
            out[spec.name] = np.array(column, _DTYPES[spec.type])
        return out

    return _p52(feeds)


@wrong("5.2", "an attention mask of ones: the padding counted as text", r"wrong values fed as "
       r"attention_mask")
def _():
    ones = {**_FIELDS, "attention_mask": "ids"}

    def feeds(session, encodings):
        out = _declared_feeds(session, encodings, ones)
        if "attention_mask" in out:
            out["attention_mask"] = np.ones_like(out["attention_mask"])
        return out

    return _p52(feeds)


@wrong("5.2", "declared names, always int64", r"distilbert-like int32: onnxruntime refused")
def _():
    def feeds(session, encodings):
        out = _declared_feeds(session, encodings)
        return {k: v.astype(np.int64) for k, v in out.items()}

    return _p52(feeds)


@wrong("5.2", "an input it cannot supply fed as zeros", r"no ValueError for an input")
def _():
    def feeds(session, encodings):
        out = {}
        for spec in session.get_inputs():
            field = _FIELDS.get(spec.name)
            column = ([getattr(e, field) for e in encodings] if field else
                      [[0] * len(e.ids) for e in encodings])
            out[spec.name] = np.array(column, _DTYPES[spec.type])
        return out

    return _p52(feeds)


# --- 5.3 · outputs by a known answer --------------------------------------------------------


def _p53(identify):
    from demos.input_contract import exercises

    return exercises.check_3(identify)


@wrong("5.3", "the first declared output taken as start", r"wrong for: .*swapped")
def _():
    def identify(session, weights):
        first, second = (o.name for o in session.get_outputs())
        return {"start": first, "end": second}

    return _p53(identify)


@wrong("5.3", "compared with the weights' rows instead of columns", r"heads identified")
def _():
    def identify(session, weights):
        probe = np.eye(4, dtype=np.float32)[None]
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, {"hidden": probe}), strict=True))
        return {role: min(out, key=lambda n: float(np.abs(out[n][0][:2] - weights[row]).sum()))
                for role, row in (("start", 0), ("end", 1))}

    return _p53(identify)


@wrong("5.3", "the output with the larger values taken as start", r"heads identified")
def _():
    def identify(session, weights):
        probe = np.ones((1, 4, 4), np.float32)
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, {"hidden": probe}), strict=True))
        big, small = sorted(names, key=lambda n: -float(out[n].sum()))
        return {"start": big, "end": small}

    return _p53(identify)
