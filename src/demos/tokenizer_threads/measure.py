"""Measurements for the chapter's figures: configure-call latency, the shipped
tokenizer.json's truncation, and the cost of each fix."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from demos.harness import bounded
from demos.tokenizer_threads import broken, fixed, per_thread
from demos.tokenizer_threads.texts import (
    LONG,
    SHORT,
    long_document,
    requests_for,
    shipped_tokenizer_json,
)

__all__ = ["configure_latency", "costs", "truncation_surprise"]


def configure_latency(
    tokenizer_json: str, batch_size: int, *, head_start_s: float = 0.05, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Call ``enable_truncation`` while another thread is inside ``encode_batch``.

    The batch thread starts first; the configuration call comes ``head_start_s`` later,
    under :func:`~demos.harness.bounded` (it may block). Returns seconds since the batch
    started: when the call was made and returned (or hung/raised), when the batch ended,
    and whether the batch came back torn (rows truncated differently).

    A timing measurement, for the figure: whether the call lands inside the batch depends
    on the machine. What a call made *provably* inside a batch does is observed, by
    construction, in :mod:`.versions`.
    """
    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    batch = [LONG[i % len(LONG)] for i in range(batch_size)]
    started, times, lengths = threading.Event(), {}, []

    def encode() -> None:
        times["batch_start"] = time.perf_counter()
        started.set()
        lengths.extend(len(e) for e in tokenizer.encode_batch(batch))
        times["batch_end"] = time.perf_counter()

    worker = threading.Thread(target=encode, name="tt-inflight-batch", daemon=True)
    worker.start()
    started.wait(timeout_s)

    def configure() -> None:
        time.sleep(head_start_s)
        times["call"] = time.perf_counter()
        try:
            tokenizer.enable_truncation(max_length=16)
        finally:
            times["return"] = time.perf_counter()

    outcome = bounded(configure, timeout_s, name="tt-configure")
    worker.join(timeout_s)
    t0 = times["batch_start"]
    return {
        "batch_size": batch_size, "status": outcome.status,
        "error": f"{type(outcome.error).__name__}: {outcome.error}" if outcome.error else "",
        "call_s": times.get("call", np.nan) - t0, "return_s": times.get("return", np.nan) - t0,
        "batch_end_s": times.get("batch_end", np.nan) - t0,
        "latency_s": times.get("return", np.nan) - times.get("call", np.nan),
        "torn": len(set(lengths)) > 1,
    }


def truncation_surprise(encoder: Any, text: str | None = None) -> dict[str, Any]:
    """Embed one long text with the shipped tokenizer.json and with the encoder's own.

    Returns word pieces in the text, ids fed by each, their embeddings' cosine, and the
    positions each pays for a batch of short texts (fixed padding vs pad-to-longest).
    """
    text = text or long_document()
    shipped = Tokenizer.from_str(encoder.tokenizer_json)
    full = Tokenizer.from_str(encoder.tokenizer_json)
    full.no_truncation()
    full.no_padding()

    def embed(tokenizer: Tokenizer, texts: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(texts)
        feeds = {name: np.array([getattr(e, attr) for e in encodings], dtype=np.int64)
                 for name, attr in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                                    ("token_type_ids", "type_ids"))}
        return encoder.session.run(["sentence_embedding"], feeds)[0]

    wrong, right = embed(shipped, [text])[0], embed(encoder.tokenizer, [text])[0]
    shorts = list(SHORT)
    return {
        "pieces": len(full.encode(text)), "shipped_ids": len(shipped.encode(text)),
        "encoder_ids": len(encoder.tokenizer.encode(text)),
        "max_seq_length": encoder.max_seq_length,
        "cosine": float(np.dot(wrong, right) / np.linalg.norm(wrong) / np.linalg.norm(right)),
        "short_positions_shipped": sum(len(e) for e in shipped.encode_batch(shorts)),
        "short_positions_encoder": sum(len(e) for e in encoder.tokenizer.encode_batch(shorts)),
        "short_real_pieces": sum(len(e) for e in full.encode_batch(shorts)),
    }


def costs(repeats: int = 30, seed: int = 0) -> dict[str, Any]:
    """Per-request time of each implementation, measured side by side in one run.

    Same requests for all (one thread, so that only the handler's own work is timed),
    interleaved round-robin so that machine load hits each alike. Also: the one-off
    price of a per-thread copy.
    """
    source = Tokenizer.from_str(shipped_tokenizer_json())
    impls = {"broken": broken, "fixed": fixed, "per_thread": per_thread}
    shared = {name: impl.share(source) for name, impl in impls.items()}
    per_thread.own_copy(shared["per_thread"])  # the copy is timed separately, below
    plan = [r for row in requests_for(4, max(1, repeats // 4), seed) for r in row]
    spent = dict.fromkeys(impls, 0.0)
    for request in plan:
        for name, impl in impls.items():
            start = time.perf_counter()
            impl.encode_request(shared[name], request["texts"],
                                max_length=request["max_length"], pad=request["pad"])
            spent[name] += time.perf_counter() - start
    copy_s = []
    for _ in range(5):
        start = time.perf_counter()
        Tokenizer.from_str(source.to_str())
        copy_s.append(time.perf_counter() - start)
    per_request = {name: spent[name] / len(plan) for name in impls}
    return {
        "requests": len(plan),
        **{f"{name}_ms_per_request": round(1e3 * s, 3) for name, s in per_request.items()},
        "fixed_vs_broken": round(per_request["fixed"] / per_request["broken"], 3),
        "per_thread_vs_broken": round(per_request["per_thread"] / per_request["broken"], 3),
        "copy_ms": round(1e3 * float(np.median(copy_s)), 2),
        "copy_vs_request": round(float(np.median(copy_s)) / per_request["broken"], 1),
    }
