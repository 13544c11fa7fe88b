"""A request handler that reconfigures one shared tokenizer for every request."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

from tokenizers import Tokenizer

from demos.tokenizer_threads import _workers

__all__ = ["START_METHOD", "encode_in_processes", "encode_request", "share"]

#: How encode_in_processes starts its workers.
START_METHOD = "fork"  # PITFALL: a child inherits the parent's locks, not its threads


def share(tokenizer: Tokenizer) -> Tokenizer:
    """Prepare ``tokenizer`` to be shared by the request threads (called once, at startup)."""
    return tokenizer  # PITFALL: the one object every request will reconfigure


def encode_request(
    tokenizer: Tokenizer, texts: Iterable[str], *, max_length: int, pad: bool = True
) -> list[list[int]]:
    """Token ids for one request: at most ``max_length`` ids per text, padded to the longest.

    Concurrency: none stated, and none provided: the options are written to ``tokenizer``.
    """
    tokenizer.enable_truncation(max_length=max_length)  # PITFALL: shared state, per request
    if pad:  # PITFALL: so is padding
        tokenizer.enable_padding()
    else:
        tokenizer.no_padding()
    batch = [text.strip() for text in texts]  # reading the request body takes time
    return [encoding.ids for encoding in tokenizer.encode_batch(batch)]


def encode_in_processes(
    tokenizer_json: str,
    chunks: Iterable[list[str]],
    *,
    processes: int = 2,
    timeout_s: float = 60.0,
) -> list[list[list[int]]]:
    """Encode each chunk of texts in a pool of worker processes, one tokenizer per worker."""
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_workers.init_worker, initargs=(tokenizer_json,)
    ) as pool:
        return list(pool.map(_workers.encode_chunk, chunks, timeout=timeout_s))
