"""Checks for chapter 4's exercises: each returns a :class:`demos.exercises.Verdict`.

* :func:`check_1` — a model wrapper whose ``stats()`` gives exact ``calls`` and a right
  ``mean_s``, with no lock held while the model runs (through the chapter's scenario).
* :func:`check_2` — per-thread statistics merged on read (transfer).
* :func:`check_3` — a bounded pool of scratch buffers (transfer).
* :func:`check_4` — choosing ``intra_op_num_threads`` for N requesters in a layout (transfer).

Every message is made of counts, never timings, so a notebook can store it.
"""

from __future__ import annotations

import dataclasses
import numbers
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from demos.exercises import Verdict, check, failed, passed
from demos.harness import hammer
from demos.shared_state._interleave import Interleaver, forcing, record_while_another_is_held
from demos.shared_state._paced import paced
from demos.shared_state._pool_paths import timeout_and_error_paths
from demos.shared_state._torn import torn_stats

__all__ = ["check_1", "check_2", "check_3", "check_4"]


#: How long the first reader of a counter waits for a second one (once per counter).
GATE_S = 1.0
#: How far 4.1's mean_s may be from the runs' mean: wrong answers miss it by about 30 ms or
#: more (the paced tokenizer's 30 ms), so half of that: a right answer timed on a busy
#: machine (its clock read a few ms after run returns) is not mistaken for a wrong one.
MEAN_TOLERANCE_S = 0.015


def check_1(model_class: type, *, encoder: Any = None) -> Verdict:
    """4.1: 4 threads meet in ``session.run``; results, ``calls`` and ``mean_s`` must hold.

    The race on the counters is forced, not hoped for (:mod:`demos.shared_state._interleave`):
    the threads leave each run together, the first to read a counter after a run waits for
    a second to read it, and a write made from a stale read is seen and named. ``mean_s``
    must be the mean of the model runs: a third pass, without rendezvous, on the real
    encoder paced by :mod:`demos.shared_state._paced` (runs that differ by 200 ms on purpose,
    tokenization 30 ms slower), takes the truth from the runs' recorded spans.
    """
    from demos.shared_state import scenario

    def attempt() -> Verdict:
        seen: dict[str, Any] = {}
        threads = 4
        interleaver = Interleaver(threads, GATE_S)

        class Spied(model_class):  # type: ignore[misc, valid-type]
            """The reader's class; keeps what the scenario's final stats() returned."""

            def stats(self) -> Any:
                seen["stats"] = super().stats()
                return seen["stats"]

        # First with the race forced, for lost updates only: its gates slow some calls,
        # which would blur the timing bounds on mean_s. Then as it is, for the rest.
        forced = SimpleNamespace(__name__="yours", Model=forcing(model_class, interleaver))
        f = scenario.measure(forced, threads=threads, calls=6, rendezvous_timeout_s=5.0,
                             encoder=encoder, timeout_s=60.0)
        impl = SimpleNamespace(__name__="yours", Model=Spied)
        m = scenario.measure(impl, threads=threads, calls=6, rendezvous_timeout_s=5.0,
                             encoder=encoder, timeout_s=60.0)
        m = dataclasses.replace(m, lost_counts=max(m.lost_counts, f.lost_counts))
        problems = []
        # How many go wrong depends on the interleaving; that something does, does not.
        if m.wrong or m.failed:
            problems.append("some results belong to other requests (or failed)")
        if interleaver.lost:
            lost = sorted(interleaver.lost)
            it = "it" if len(lost) == 1 else "them"
            problems.append(f"two threads read {' and '.join(lost)} and both wrote {it} back, "
                            f"so an update was lost: read and write {it} under one lock")
        if m.lost_counts:
            problems.append("stats().calls counted fewer calls than were made")
        if m.serialised:
            problems.append("the model calls never overlapped (a lock around run?)")
        t = scenario.measure(impl, threads=threads, calls=6, rendezvous=False, timeout_s=60.0,
                             encoder=paced(encoder or scenario.default_encoder()))
        truth = sum(s.end - s.start for s in t.runs) / len(t.runs)
        mean = getattr(seen.get("stats"), "mean_s", None)
        if not isinstance(mean, float):
            problems.append(f"stats().mean_s must be a float, got {type(mean).__name__}")
        elif not (m.lost_counts or t.lost_counts) and abs(mean - truth) > MEAN_TOLERANCE_S:
            # Only with every call counted: a mean over the surviving updates may land on
            # either side, depending on which ones survived. The calls differ by 200 ms and
            # tokenizing takes 30 ms: the last call's time, or a time that includes
            # tokenization, misses the mean by about 30 ms or more.
            problems.append("stats().mean_s is not the mean model time per call (time the "
                            "model run only, and average every call)")
        if not problems:  # last, on a right-looking answer: a stats() read mid-update
            torn = torn_stats(model_class, encoder or scenario.default_encoder(),
                              ["the cat sat on the mat"])
            if torn:
                problems.append(torn)
        if problems:
            return failed("4.1", "; ".join(problems))
        return passed("4.1", f"{m.total} of {m.total} results right, every call counted, "
                             "no update lost, mean_s right, runs overlapped")

    return check("4.1", attempt)


def check_2(stats_class: type, *, threads: int = 4, records: int = 500) -> Verdict:
    """4.2: ``record(texts, seconds)`` from many threads; ``snapshot()`` merges them.

    First, a record held inside its addition
    (:func:`demos.shared_state._interleave.record_while_another_is_held`) while another thread
    records: the other must not wait, and both must count (a shared counter, locked or not,
    fails here by construction). Then two waves of ``threads`` threads record ``records``
    times each; the snapshot taken after each wave, from another thread, must count every
    record, of threads that have ended too.
    """

    def attempt() -> Verdict:
        problem = record_while_another_is_held(stats_class)
        if problem:
            return failed("4.2", problem)
        stats = stats_class()
        for wave in (1, 2):
            result = hammer(lambda t, i: stats.record(2, 0.5), threads, records,
                            timeout_s=30.0, name="recorder")
            if result.errors:
                error = result.errors[0]
                return failed("4.2", f"record() raised {type(error).__name__}: {error}")
            snap = stats.snapshot()
            expected = wave * threads * records
            got = (getattr(snap, "calls", None), getattr(snap, "texts", None),
                   getattr(snap, "model_s", None))
            if got != (expected, 2 * expected, 0.5 * expected):
                return failed("4.2", f"after {expected} records by {wave * threads} threads "
                                     f"(all ended), snapshot() gave calls, texts, model_s = "
                                     f"{got}, expected {(expected, 2 * expected, 0.5 * expected)}")
        return passed("4.2", f"{2 * threads * records} records from {2 * threads} threads, "
                             "every one counted after its thread ended; a record held "
                             "mid-update neither blocked nor lost another")

    return check("4.2", attempt)


def check_3(pool_class: type, *, size: int = 2, threads: int = 6, borrows: int = 20) -> Verdict:
    """4.3: ``pool_class(size, make)``; ``with pool.borrow(timeout_s) as buffer:``.

    Requirements: at most ``size`` buffers made; a buffer is never held by two callers at
    once; ``size`` callers do hold buffers at the same time (they meet at a barrier while
    holding them); a caller beyond ``size`` waits and its ``timeout_s`` raises TimeoutError;
    a buffer comes back even when the caller's block raises.
    """

    def attempt() -> Verdict:
        made: list[dict[str, int]] = []
        lock = threading.Lock()  # guards made and holders

        def make() -> dict[str, int]:
            with lock:
                made.append({"id": len(made)})
                return made[-1]

        pool = pool_class(size, make)
        holders: dict[int, int] = {}
        clashes = 0
        meet = threading.Barrier(size)
        too_many = threading.Barrier(size + 1)
        over = never_met = 0

        def hold(thread: int, index: int) -> None:
            nonlocal clashes, over, never_met
            with pool.borrow(30.0) as buffer:
                with lock:
                    clashes += id(buffer) in holders
                    holders[id(buffer)] = thread
                try:
                    if index == 0 and thread < size:
                        try:  # size callers must be able to hold buffers at the same time
                            meet.wait(10.0)
                        except threading.BrokenBarrierError:
                            never_met += 1
                    if index == 1:
                        try:  # size + 1 holders at once would meet here; a bounded pool never
                            too_many.wait(0.5)
                            over += 1
                        except threading.BrokenBarrierError:
                            pass
                finally:
                    with lock:
                        holders.pop(id(buffer), None)

        result = hammer(hold, threads, borrows, timeout_s=60.0, name="borrower")
        problems = []
        if result.errors:
            error = result.errors[0]
            problems.append(f"a borrower raised {type(error).__name__}: {error}")
        if len(made) > size:
            problems.append(f"{len(made)} buffers made for a pool of {size}")
        if clashes:
            problems.append("a buffer was handed to a second caller while the first held it")
        if over:
            problems.append(f"more than {size} callers held buffers at once")
        if never_met:
            problems.append(f"{size} callers could never hold buffers at the same time")
        if problems:  # the first problem only: which others show depends on the timing
            return failed("4.3", problems[0])
        return timeout_and_error_paths(pool, size, made, f"{threads} threads × {borrows} "
                                                        f"borrows on {len(made)} buffers")

    return check("4.3", attempt)


#: The serving layouts of exercise 4.4, as :mod:`.layouts` names them.
LAYOUTS_4 = ("shared session", "session per thread", "process per worker")

#: (layout, request threads, cores). With one shared session the concurrent calls share its
#: pool: N callers + (intra_op - 1) pool threads, so they add. With a session per thread or a
#: process per worker every requester brings its own pool: N × intra_op, so they multiply.
CASES_4 = (("shared session", 1, 8), ("shared session", 2, 8), ("shared session", 3, 8),
           ("shared session", 8, 8), ("shared session", 16, 8), ("shared session", 4, 2),
           ("session per thread", 1, 8), ("session per thread", 2, 8),
           ("session per thread", 3, 8), ("session per thread", 16, 8),
           ("process per worker", 4, 8), ("process per worker", 5, 64),
           ("process per worker", 1, 2))


def budget_4(layout: str, request_threads: int, cores: int) -> int:
    """The answer 4.4 expects: the most intra-op threads that keep the threads able to
    compute at once within the cores, and at least 1."""
    if layout == "shared session":
        return max(1, cores - request_threads + 1)
    return max(1, cores // request_threads)


def check_4(choose: Callable[[str, int, int], int]) -> Verdict:
    """4.4: ``choose(layout, request_threads, cores)`` -> ``intra_op_num_threads`` (>= 1).

    Requirements: never 0 (onnxruntime's "default"); the threads that may compute at once
    (callers plus every pool they use: added for a shared session, multiplied for a session
    per thread or a process per worker) never above the cores unless one intra-op thread is
    already too many; no core left idle that a request could use (the largest such value);
    bad counts and an unknown layout raise ValueError.
    """

    def attempt() -> Verdict:
        wrong = []
        for layout, n, cores in CASES_4:
            got = choose(layout, n, cores)
            want = budget_4(layout, n, cores)
            if isinstance(got, bool) or not isinstance(got, numbers.Integral):  # an int only
                wrong.append(f"choose({layout!r}, {n}, {cores}) returned {got!r}, a "
                             f"{type(got).__name__}: intra_op_num_threads must be an int")
            elif got != want:
                wrong.append(f"choose({layout!r}, {n}, {cores}) = {got!r}, expected {want}")
        bad_cases = (("shared session", 0, 8), ("session per thread", 2, 0),
                     ("thread pool", 2, 8), ("process per worker", -1, 8),
                     ("session per thread", True, 8), ("shared session", 2, True))
        for bad in bad_cases:
            try:
                choose(*bad)
                wrong.append(f"choose{bad} returned instead of raising ValueError")
            except ValueError:
                pass
            except Exception as error:  # named, so the reader sees which case and what
                wrong.append(f"choose{bad} raised {type(error).__name__}, not ValueError")
        total = len(CASES_4) + len(bad_cases)
        if wrong:
            return failed("4.4", f"{len(wrong)} of {total} cases wrong: " + "; ".join(wrong[:3]))
        return passed("4.4", f"{total} of {total} cases right")

    return check("4.4", attempt)
