"""Requests with their own options, from many threads, against one shared tokenizer.

Each request asks for its own ``max_length`` and padding; its ids are compared with what
a private, sequentially configured tokenizer returns for the same request (the oracle).
``barrier=True`` makes the race happen by construction: every request reads its body
(a realistic slow step) only once all threads' requests have arrived, so every handler
has applied its options before any of them encodes. ``barrier=False`` shows the natural
rate. ``fork=True`` also runs ``impl.encode_in_processes`` after the parent used the
tokenizer with ``TOKENIZERS_PARALLELISM=true``, in a child process under a timeout. The
pool's start method (``impl.START_METHOD``) is part of the verdict: a pool that forks
workers is a manifestation, whether or not this run's fork happened to hang.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from tokenizers import Tokenizer

from demos import knobs
from demos.harness import HangError, hammer
from demos.report import Report
from demos.tokenizer_threads import probes
from demos.tokenizer_threads.texts import requests_for, shipped_tokenizer_json

__all__ = ["FORK_SAFE_START_METHODS", "Body", "bench", "expected_ids", "requests_for", "run",
           "shipped_tokenizer_json"]

PITFALL = "tokenizer_threads"
BARRIER_TIMEOUT_S = 10.0
#: Start methods whose workers inherit no thread, lock or thread-pool state from the parent.
FORK_SAFE_START_METHODS = ("spawn", "forkserver")


class Body:
    """A request's texts, read once; with a barrier, reading waits for every thread's request.

    The wait stands for a slow request body (a network read): it holds the handler
    between applying its options and encoding until all threads are at the same point.
    """

    def __init__(self, texts: tuple[str, ...], barrier: threading.Barrier | None,
                 timeout_s: float = BARRIER_TIMEOUT_S) -> None:
        self._texts, self._barrier, self._timeout_s = texts, barrier, timeout_s

    def __iter__(self) -> Iterator[str]:
        # A generator: the wait comes with the first text read, not with iter(), so a
        # lazy body (``(t.strip() for t in texts)``) made outside a lock and consumed
        # inside it is read inside it.
        if self._barrier is not None:
            self._barrier.wait(self._timeout_s)
        yield from self._texts


def expected_ids(tokenizer_json: str, request: dict[str, Any]) -> list[list[int]]:
    """The oracle: a private tokenizer configured for this one request, used by one thread."""
    own = Tokenizer.from_str(tokenizer_json)
    own.enable_truncation(max_length=request["max_length"])
    if request["pad"]:
        own.enable_padding()
    else:
        own.no_padding()
    return [e.ids for e in own.encode_batch(list(request["texts"]))]


def run(
    impl: ModuleType | Any,
    *,
    threads: int = 4,
    requests: int = 3,
    barrier: bool = True,
    fork: bool = False,
    seed: int = 0,
    timeout_s: float = 60.0,
    fork_timeout_s: float = 10.0,
    barrier_timeout_s: float = BARRIER_TIMEOUT_S,
) -> Report:
    """Drive ``impl.share`` / ``impl.encode_request`` from ``threads`` threads.

    Manifested when any request's ids differ from the oracle's (a leaked option), a call
    raised, a call did not finish within ``timeout_s``, the implementation's process pool
    forks its workers (``impl.START_METHOD`` not in :data:`FORK_SAFE_START_METHODS`), or
    (``fork=True``) the process pool hung or failed.
    """
    threads = knobs.integer("threads", threads)
    requests = knobs.integer("requests", requests)
    timeout_s = knobs.seconds("timeout_s", timeout_s)
    fork_timeout_s = knobs.seconds("fork_timeout_s", fork_timeout_s)
    barrier_timeout_s = knobs.seconds("barrier_timeout_s", barrier_timeout_s)
    tokenizer_json = shipped_tokenizer_json()
    plan = requests_for(threads, requests, seed)
    expected = [[expected_ids(tokenizer_json, r) for r in row] for row in plan]
    shared = impl.share(Tokenizer.from_str(tokenizer_json))
    gate = threading.Barrier(threads) if barrier and threads > 1 else None

    def call(thread: int, index: int) -> bool:
        request = plan[thread][index]
        try:
            ids = impl.encode_request(shared, Body(request["texts"], gate, barrier_timeout_s),
                                      max_length=request["max_length"], pad=request["pad"])
        except Exception:
            if gate is not None:
                gate.abort()  # the others must not wait for a request that failed
            raise
        return ids == expected[thread][index]

    hung = False
    try:
        result = hammer(call, threads, requests, timeout_s=timeout_s, name="tt-request")
        calls = result.calls
    except HangError:
        hung, calls = True, ()
    wrong = sum(1 for c in calls if c.error is None and c.value is False)
    errors = [c.error for c in calls if c.error is not None]
    # The cause first: a failed call aborts the barrier, and the others then raise
    # BrokenBarrierError because of it.
    errors.sort(key=lambda e: isinstance(e, threading.BrokenBarrierError))
    total = threads * requests
    start_method = getattr(impl, "START_METHOD", None)  # None: the implementation has no pool
    forks = start_method is not None and start_method not in FORK_SAFE_START_METHODS
    metrics: dict[str, Any] = {
        "threads": threads, "requests": total, "wrong": wrong, "errors": len(errors),
        "leak_rate": wrong / total, "hung": hung,
        "max_call_s": max((c.duration_s for c in calls), default=float("nan")),
        "first_error": f"{type(errors[0]).__name__}: {errors[0]}" if errors else "",
        "start_method": start_method or "",
    }
    fork_failed = False
    if fork:
        module = getattr(impl, "__name__", "")
        (probe,) = probes.run_probes(["pool"], tokenizer_json, timeout_s=fork_timeout_s,
                                     module=module)
        fork_failed = probe.status != "ok"
        metrics.update(fork_status=probe.status, fork_s=round(probe.elapsed_s, 3))
    manifested = bool(wrong or errors or hung or forks or fork_failed)
    headline = (f"{wrong} of {total} requests got another request's options, "
                f"{len(errors)} raised" + (", hung" if hung else "")
                + (f"; process pool starts workers with {start_method}" if start_method else "")
                + (f", {metrics['fork_status']}" if fork else ""))
    return Report(PITFALL, knobs.impl_name(impl), manifested, headline, metrics)


def bench(repeats: int = 30, seed: int = 0) -> dict[str, Any]:
    """The cost of each fix, side by side: per-request time, one thread, same requests."""
    from demos.tokenizer_threads import measure

    return measure.costs(repeats=knobs.integer("repeats", repeats), seed=seed)
