"""Checks for chapter 6's exercises; each returns a :class:`demos.exercises.Verdict`.

Every check runs the reader's code against the real tokenizer, from several threads that
meet at a barrier (so a leak happens by construction, not by luck), and reports counts.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from demos import exercises
from demos.exercises import Verdict
from demos.harness import hammer
from demos.tokenizer_threads import broken, fixed, scenario
from demos.tokenizer_threads.pool_checks import held_at_once
from demos.tokenizer_threads.texts import LONG, SHORT, shipped_tokenizer_json

__all__ = ["check_1", "check_2", "check_3", "check_4"]

#: How long a thread may wait for the others at the barrier before the check says so.
_WAIT_S = 3.0


#: How long the first encode of a run waits for the other threads' first encodes.
_ENCODE_GATE_S = 1.0


class _EncodeGate:
    """The shared tokenizer, whose first ``encode_batch`` per thread waits for all threads.

    The scenario's barrier holds each request between reading its body and configuring;
    this one holds it between configuring and encoding, so a lock that covers configuring
    but not encoding lets every thread configure before any encodes: the last options win,
    by construction. A lock around both keeps the others out, so the first waiter times out
    once (``_ENCODE_GATE_S``) and the gate is open from then on.
    """

    def __init__(self, tokenizer: Tokenizer, threads: int) -> None:
        self._tokenizer, self._gate = tokenizer, threading.Barrier(threads)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def _wait(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            if not self._gate.broken:
                self._gate.wait(_ENCODE_GATE_S)
        self._gate.abort()  # once: later encodes go straight through

    def encode_batch(self, *args: Any, **kwargs: Any) -> Any:
        self._wait()
        return self._tokenizer.encode_batch(*args, **kwargs)

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        self._wait()
        return self._tokenizer.encode(*args, **kwargs)


def check_1(encode_request: Callable[..., list[list[int]]]) -> Verdict:
    """6.1 · a lock around configure + encode, with the slow body read outside it."""

    def attempt() -> Verdict:
        seen = []
        for knobs in (dict(threads=4, requests=3), dict(threads=8, requests=2)):
            def share(tokenizer: Tokenizer, threads: int = knobs["threads"]) -> _EncodeGate:
                return _EncodeGate(broken.share(tokenizer), threads)

            impl = types.SimpleNamespace(NAME="yours", share=share,
                                         encode_request=encode_request)
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
        for size in (2, 3):  # by construction: all checked out; 3 too, so ``size`` counts
            pool = pool_class(source, size)
            if (problem := held_at_once(pool, size, source)) is not None:
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
            "6.2", "pools of 2 and 3: as many checked out at once were as many different "
            f"tokenizers, and one more timed out; {total} requests from 6 threads all got "
            "their own options")

    return exercises.check("6.2", attempt)


def _keep_end_oracle(tokenizer_json: str, texts: list[str], max_length: int) -> list[list[int]]:
    own = Tokenizer.from_str(tokenizer_json)
    own.no_padding()
    own.enable_truncation(max_length=max_length, direction="left")
    return [e.ids for e in own.encode_batch(texts)]


#: The Tokenizer methods and properties that change what it does for everyone.
_WRITES = frozenset({"enable_truncation", "no_truncation", "enable_padding", "no_padding",
                     "add_tokens", "add_special_tokens", "normalizer", "pre_tokenizer",
                     "post_processor", "decoder", "model"})


class _Watched:
    """A shared tokenizer that counts every write made through it, undone or not.

    Reads go straight to the real one; a call of a configuring method, or an assignment
    to a component, is counted first. Restoring the old settings afterwards still counts:
    another thread may have encoded in between.

    Concurrency: ``_lock`` guards ``writes``.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        object.__setattr__(self, "_tokenizer", tokenizer)
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "writes", set())

    def _wrote(self, name: str) -> None:
        with self._lock:
            self.writes.add(name)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._tokenizer, name)
        if name in _WRITES and callable(value):
            def write(*args: Any, **kwargs: Any) -> Any:
                self._wrote(name)
                return value(*args, **kwargs)

            return write
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._wrote(name)
        setattr(self._tokenizer, name, value)


def check_3(encode_keep_end: Callable[..., list[list[int]]]) -> Verdict:
    """6.3 · keep each text's last word pieces, per request, without touching the shared one."""

    def attempt() -> Verdict:
        tokenizer_json = shipped_tokenizer_json()
        real = fixed.share(Tokenizer.from_str(tokenizer_json))
        shared = _Watched(real)
        threads, lengths = 4, (8, 16, 24, 32)
        edges = [["word " * (n + k) for k in (-3, -2, -1)] for n in lengths]  # n-1, n, n+1 ids
        texts = [[LONG[t], SHORT[t], LONG[t + 4], *edges[t]] for t in range(threads)]
        want = [_keep_end_oracle(tokenizer_json, texts[t], lengths[t]) for t in range(threads)]
        gate = threading.Barrier(threads)

        def call(thread: int, _: int) -> bool:
            gate.wait(_WAIT_S)  # every thread calls at once
            return encode_keep_end(shared, list(texts[thread]),
                                   max_length=lengths[thread]) == want[thread]

        result = hammer(call, threads, 1, timeout_s=30.0, name="tt-ex-keep-end")
        errors = [c.error for c in result.calls if c.error is not None]
        if real.truncation is not None or real.padding is not None:
            return exercises.failed("6.3", "your function wrote the shared tokenizer's "
                                    "truncation or padding")
        if shared.writes:
            wrote = ", ".join(sorted(shared.writes))
            return exercises.failed("6.3", f"your function called {wrote} on the shared "
                                    "tokenizer: even restored afterwards, another request "
                                    "could encode with it meanwhile")
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


#: (sentence_bert_config.json's max_seq_length or None for no such file,
#:  tokenizer_config.json's model_max_length, its max_length or None): each folder's files
#: disagree, as the real model's do (256, 512 and the shipped tokenizer.json's 128). Folder 2's
#: model_max_length is below its max_seq_length (sentence-transformers still embeds 384: the
#: smaller of the two is wrong); folder 4 has a max_length and a config.json (a fallback to
#: either must not pass for raising).
_FOLDERS = ((256, 512, 128), (384, 256, None), (128, 512, 512), (None, 512, 128))

#: config.json's max_position_embeddings in every folder, as the real model's config.json says.
_POSITIONS = 512


def check_4(max_length: Callable[[Path], int]) -> Verdict:
    """6.4 · the length the model's users embed comes from sentence_bert_config.json."""

    def attempt() -> Verdict:
        wrong = []
        with tempfile.TemporaryDirectory() as tmp:
            for k, (seq, model_max, max_len) in enumerate(_FOLDERS, start=1):
                folder = Path(tmp) / f"model{k}"
                folder.mkdir()
                (folder / "tokenizer.json").write_text(shipped_tokenizer_json())
                config = {"model_max_length": model_max}
                if max_len is not None:
                    config["max_length"] = max_len
                (folder / "tokenizer_config.json").write_text(json.dumps(config))
                (folder / "config.json").write_text(
                    json.dumps({"max_position_embeddings": _POSITIONS}))
                if seq is not None:
                    (folder / "sentence_bert_config.json").write_text(
                        json.dumps({"max_seq_length": seq, "do_lower_case": False}))
                    got = max_length(folder)
                    if isinstance(got, float):
                        wrong.append(f"folder {k}: {got!r} is a float; enable_truncation "
                                     "needs an int")
                    elif got != seq:
                        wrong.append(f"folder {k}: {got!r} instead of {seq}")
                    continue
                try:
                    got = max_length(folder)
                except ValueError as error:
                    if "sentence_bert_config.json" not in str(error):
                        wrong.append(f"folder {k}: the ValueError does not name "
                                     "sentence_bert_config.json")
                else:
                    wrong.append(f"folder {k} has no sentence_bert_config.json: you returned "
                                 f"{got!r} instead of raising ValueError")
        if wrong:
            return exercises.failed("6.4", "; ".join(wrong))
        return exercises.passed("6.4", "three folders gave their sentence_bert_config.json "
                                "length (256, 384, 128) whatever their other files say; the "
                                "folder without it raised a ValueError naming it")

    return exercises.check("6.4", attempt)
