"""Requests with their own options, from many threads, against one shared tokenizer.

Each request asks for its own ``max_length`` and padding; its ids are compared with what
a private, sequentially configured tokenizer returns for the same request (the oracle).
``barrier=True`` makes the race happen by construction: every request reads its body
(a realistic slow step) only once all threads' requests have arrived, so every handler
has applied its options before any of them encodes. ``barrier=False`` shows the natural
rate. ``fork=True`` also runs ``impl.encode_in_processes`` after the parent used the
tokenizer with ``TOKENIZERS_PARALLELISM=true``, in a child process under a timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from demos.harness import HangError, hammer
from demos.report import Report
from demos.tokenizer_threads import probes
from demos.tokenizer_threads.texts import request_texts

__all__ = ["Body", "bench", "requests_for", "run", "shipped_tokenizer_json"]

PITFALL = "tokenizer_threads"
BARRIER_TIMEOUT_S = 10.0


def shipped_tokenizer_json() -> str:
    """The running example's ``tokenizer.json``, exactly as the model ships it."""
    from demos.models import model_files

    return model_files().tokenizer_json


class Body:
    """A request's texts, read once; with a barrier, reading waits for every thread's request.

    The wait stands for a slow request body (a network read): it holds the handler
    between applying its options and encoding until all threads are at the same point.
    """

    def __init__(self, texts: tuple[str, ...], barrier: threading.Barrier | None) -> None:
        self._texts, self._barrier = texts, barrier

    def __iter__(self) -> Iterator[str]:
        if self._barrier is not None:
            self._barrier.wait(BARRIER_TIMEOUT_S)
        return iter(self._texts)


def requests_for(threads: int, requests: int, seed: int = 0) -> list[list[dict[str, Any]]]:
    """Per thread, per call: texts, max_length and pad, distinct among concurrent calls."""
    rng = np.random.default_rng(seed)
    return [[{"texts": request_texts(rng), "max_length": 8 + 8 * ((t + i) % threads),
              "pad": (t + i) % 2 == 0} for i in range(requests)] for t in range(threads)]


def expected_ids(tokenizer_json: str, request: dict[str, Any]) -> list[list[int]]:
    """The oracle: a private tokenizer configured for this one request, used by one thread."""
    own = Tokenizer.from_str(tokenizer_json)
    own.enable_truncation(max_length=request["max_length"])
    if request["pad"]:
        own.enable_padding()
    else:
        own.no_padding()
    return [e.ids for e in own.encode_batch(list(request["texts"]))]


def _label(impl: Any) -> str:
    return getattr(impl, "NAME", None) or getattr(impl, "__name__", "impl").rsplit(".", 1)[-1]


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
) -> Report:
    """Drive ``impl.share`` / ``impl.encode_request`` from ``threads`` threads.

    Manifested when any request's ids differ from the oracle's (a leaked option), a call
    raised, a call did not finish within ``timeout_s``, or (``fork=True``) the process
    pool hung or failed.
    """
    for name, value in (("threads", threads), ("requests", requests)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    tokenizer_json = shipped_tokenizer_json()
    plan = requests_for(threads, requests, seed)
    expected = [[expected_ids(tokenizer_json, r) for r in row] for row in plan]
    shared = impl.share(Tokenizer.from_str(tokenizer_json))
    gate = threading.Barrier(threads) if barrier and threads > 1 else None

    def call(thread: int, index: int) -> bool:
        request = plan[thread][index]
        try:
            ids = impl.encode_request(shared, Body(request["texts"], gate),
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
    total = threads * requests
    metrics: dict[str, Any] = {
        "threads": threads, "requests": total, "wrong": wrong, "errors": len(errors),
        "leak_rate": wrong / total, "hung": hung,
        "max_call_s": max((c.duration_s for c in calls), default=float("nan")),
        "first_error": f"{type(errors[0]).__name__}: {errors[0]}" if errors else "",
    }
    fork_failed = False
    if fork:
        module = getattr(impl, "__name__", "")
        (probe,) = probes.run_probes(["pool"], tokenizer_json, timeout_s=fork_timeout_s,
                                     module=module)
        fork_failed = probe.status != "ok"
        metrics.update(fork_status=probe.status, fork_s=round(probe.elapsed_s, 3))
    manifested = bool(wrong or errors or hung or fork_failed)
    headline = (f"{wrong} of {total} requests got another request's options, "
                f"{len(errors)} raised" + (", hung" if hung else "")
                + (f"; process pool {metrics['fork_status']}" if fork else ""))
    return Report(PITFALL, _label(impl), manifested, headline, metrics)


def bench(repeats: int = 30, seed: int = 0) -> dict[str, Any]:
    """The cost of each fix, side by side: per-request time, one thread, same requests."""
    from demos.tokenizer_threads import measure

    return measure.costs(repeats=repeats, seed=seed)
