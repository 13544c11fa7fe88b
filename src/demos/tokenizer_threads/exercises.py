"""Checks for chapter 6's exercises; each returns a :class:`demos.exercises.Verdict`.

Every check runs the reader's code against the real tokenizer, from several threads that
meet at a barrier (so a leak happens by construction, not by luck), and reports counts.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any

from tokenizers import Tokenizer

from demos import exercises
from demos.exercises import Verdict
from demos.harness import bounded, hammer
from demos.tokenizer_threads import broken, fixed, scenario
from demos.tokenizer_threads.texts import LONG, SHORT, shipped_tokenizer_json

__all__ = ["check_1", "check_2", "check_3"]

#: How long a thread may wait for the others at the barrier before the check says so.
_WAIT_S = 3.0


def check_1(encode_request: Callable[..., list[list[int]]]) -> Verdict:
    """6.1 · a lock around configure + encode, with the slow body read outside it."""

    def attempt() -> Verdict:
        impl = types.SimpleNamespace(NAME="yours", share=broken.share,
                                     encode_request=encode_request)
        seen = []
        for knobs in (dict(threads=4, requests=3), dict(threads=8, requests=2)):
            report = scenario.run(impl, **knobs, timeout_s=30.0, barrier_timeout_s=_WAIT_S)
            seen.append(report)
        wrong = sum(r.metrics["wrong"] for r in seen)
        errors = sum(r.metrics["errors"] for r in seen)
        total = sum(r.metrics["requests"] for r in seen)
        if errors:
            first = next(r.metrics["first_error"] for r in seen if r.metrics["errors"])
            hint = (" (a thread read its body while holding the lock, so the others never "
                    "reached the barrier)" if "BrokenBarrierError" in first else "")
            return exercises.failed("6.1", f"requests raised {first}{hint}")
        if wrong:  # how many varies with the interleaving; that some do is by construction
            return exercises.failed("6.1", "requests from 4 and from 8 threads got another "
                                    "request's options")
        return exercises.passed("6.1", f"all {total} requests from 4 and 8 threads got their "
                                "own options")

    return exercises.check("6.1", attempt)


class _Counting:
    """What the check saw of a pool: the distinct tokenizers it handed out."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: set[int] = set()


def check_2(pool_class: type) -> Verdict:
    """6.2 · a bounded pool of tokenizers: checkout/checkin with a timeout."""

    def attempt() -> Verdict:
        source = Tokenizer.from_str(shipped_tokenizer_json())
        size = 2
        pool = pool_class(source, size)
        problem = _held_at_once(pool, size)  # by construction: every tokenizer checked out
        if problem is not None:
            return exercises.failed("6.2", problem)
        count = _Counting()

        def encode_request(pool: Any, texts: Any, *, max_length: int, pad: bool = True):
            batch = [t.strip() for t in texts]  # the slow body, read before checking out
            with pool.checkout(timeout_s=10.0) as tokenizer:
                with count.lock:
                    count.ids.add(id(tokenizer))
                tokenizer.enable_truncation(max_length=max_length)
                if pad:
                    tokenizer.enable_padding()
                else:
                    tokenizer.no_padding()
                return [e.ids for e in tokenizer.encode_batch(batch)]

        impl = types.SimpleNamespace(NAME="yours", share=lambda _: pool,
                                     encode_request=encode_request)
        report = scenario.run(impl, threads=6, requests=2, timeout_s=30.0,
                              barrier_timeout_s=_WAIT_S)
        total = report.metrics["requests"]
        if report.metrics["errors"]:
            return exercises.failed("6.2", f"requests raised {report.metrics['first_error']}")
        if report.metrics["wrong"]:
            return exercises.failed("6.2", "requests got another request's options")
        if len(count.ids) > size:
            return exercises.failed("6.2", f"the pool of {size} handed out {len(count.ids)} "
                                    "different tokenizers")
        return exercises.passed(
            "6.2", f"{size} checked out at once were {size} different tokenizers; a third "
            f"checkout timed out; {total} requests from 6 threads all got their own options")

    return exercises.check("6.2", attempt)


def _held_at_once(pool: Any, size: int) -> str | None:
    """Check out ``size`` tokenizers and hold them: they must differ, and one more must
    raise TimeoutError within its timeout. None when both hold."""
    held = [pool.checkout(timeout_s=1.0) for _ in range(size)]
    tokenizers = [manager.__enter__() for manager in held]

    def one_more() -> None:
        with pool.checkout(timeout_s=0.2):
            pass

    try:
        distinct = len({id(t) for t in tokenizers})
        outcome = None if distinct < size else bounded(one_more, 5.0, name="tt-ex-checkout")
    finally:
        for manager in held:
            manager.__exit__(None, None, None)
    if outcome is None:
        return f"{size} checkouts held at once got {distinct} tokenizer(s) between them"
    if outcome.hung:
        return "a checkout from an empty pool did not return within 5 s"
    if outcome.ok:
        return "a checkout from an empty pool returned a tokenizer instead of raising"
    if not isinstance(outcome.error, TimeoutError):
        return (f"a checkout from an empty pool raised {type(outcome.error).__name__} "
                "instead of TimeoutError")
    return None


def _keep_end_oracle(tokenizer_json: str, texts: list[str], max_length: int) -> list[list[int]]:
    own = Tokenizer.from_str(tokenizer_json)
    own.no_padding()
    own.enable_truncation(max_length=max_length, direction="left")
    return [e.ids for e in own.encode_batch(texts)]


def check_3(encode_keep_end: Callable[..., list[list[int]]]) -> Verdict:
    """6.3 · keep each text's last word pieces, per request, without touching the shared one."""

    def attempt() -> Verdict:
        tokenizer_json = shipped_tokenizer_json()
        shared = fixed.share(Tokenizer.from_str(tokenizer_json))
        threads, lengths = 4, (8, 16, 24, 32)
        texts = [[LONG[t], SHORT[t], LONG[t + 4]] for t in range(threads)]
        want = [_keep_end_oracle(tokenizer_json, texts[t], lengths[t]) for t in range(threads)]
        gate = threading.Barrier(threads)

        def call(thread: int, _: int) -> bool:
            gate.wait(_WAIT_S)  # every thread calls at once
            return encode_keep_end(shared, list(texts[thread]),
                                   max_length=lengths[thread]) == want[thread]

        result = hammer(call, threads, 1, timeout_s=30.0, name="tt-ex-keep-end")
        errors = [c.error for c in result.calls if c.error is not None]
        if shared.truncation is not None or shared.padding is not None:
            return exercises.failed("6.3", "your function wrote the shared tokenizer's "
                                    "truncation or padding")
        if errors:
            return exercises.failed("6.3", f"calls raised {type(errors[0]).__name__}: "
                                    f"{errors[0]}")
        wrong = sum(1 for c in result.calls if c.value is not True)
        if wrong:
            return exercises.failed("6.3", f"{wrong} of {threads} requests differ from a "
                                    "private tokenizer that keeps the last word pieces")
        return exercises.passed("6.3", f"{threads} concurrent requests kept their texts' last "
                                "8 to 32 word pieces; the shared tokenizer was never written")

    return exercises.check("6.3", attempt)
