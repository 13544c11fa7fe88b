"""A request handler that never writes to the shared tokenizer: configure once, share, read."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

from tokenizers import Tokenizer

from demos.tokenizer_threads import _workers

__all__ = ["START_METHOD", "encode_in_processes", "encode_request", "share"]

#: How encode_in_processes starts its workers: a fresh interpreter each, inheriting no
#: lock, thread or thread pool from this process ("forkserver" would do as well).
START_METHOD = "spawn"  # FIX: never fork a process whose threads used the tokenizer


def share(tokenizer: Tokenizer) -> Tokenizer:
    """A copy of ``tokenizer`` configured once for sharing: no truncation, no padding.

    Call it once, before any thread starts; never reconfigure the result.

    Concurrency: ``encode_request`` only reads the copy, so any number of threads may
    use it at once. Building it takes a few tens of milliseconds (a 30k vocabulary).
    """
    shared = Tokenizer.from_str(tokenizer.to_str())
    shared.no_truncation()  # FIX: configure once, before sharing...
    shared.no_padding()
    return shared


def encode_request(
    tokenizer: Tokenizer, texts: Iterable[str], *, max_length: int, pad: bool = True
) -> list[list[int]]:
    """Token ids for one request: at most ``max_length`` ids per text, padded to the longest.

    Args:
        tokenizer: a tokenizer returned by :func:`share`.
        texts: the request's texts (any iterable of str, read once).
        max_length: ids per text, special tokens included (more than those).
        pad: pad every text to the request's longest with ``[PAD]`` (id 0).

    Raises:
        ValueError: for a ``max_length`` with no room for text, or a tokenizer that
            truncates or pads by itself (not from :func:`share`).
        TypeError: if ``texts`` is a str, or ``pad`` is not a bool.

    Concurrency: safe from any number of threads: the shared tokenizer is only read;
    the per-request limits are applied to this call's own Encodings.
    """
    specials = _check_request(tokenizer, texts, max_length, pad)
    batch = [text.strip() for text in texts]  # reading the request body takes time
    # FIX: ...then apply this request's options to its own Encodings, never to the tokenizer.
    encodings = tokenizer.encode_batch(batch, add_special_tokens=False)
    for encoding in encodings:
        encoding.truncate(max_length - specials)
    encodings = [tokenizer.post_process(encoding) for encoding in encodings]
    if pad and encodings:
        longest = max(len(encoding) for encoding in encodings)
        for encoding in encodings:
            encoding.pad(longest)
    return [encoding.ids for encoding in encodings]


def _check_request(tokenizer: Tokenizer, texts: object, max_length: object, pad: object) -> int:
    """Reject what encode_request cannot serve; return the special tokens it adds."""
    specials = tokenizer.num_special_tokens_to_add(False)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= specials:
        raise ValueError(f"max_length must be an int > {specials}, got {max_length!r}")
    if not isinstance(pad, bool):
        raise TypeError(f"pad must be a bool, got {type(pad).__name__}")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of str, got a str")
    if tokenizer.truncation is not None or tokenizer.padding is not None:
        raise ValueError("tokenizer must not truncate or pad by itself (use share()), got "
                         f"truncation={tokenizer.truncation}, padding={tokenizer.padding}")
    return specials


def encode_in_processes(
    tokenizer_json: str,
    chunks: Iterable[list[str]],
    *,
    processes: int = 2,
    timeout_s: float = 60.0,
) -> list[list[list[int]]]:
    """Encode each chunk of texts in a pool of worker processes, one tokenizer per worker.

    Raises:
        ValueError: if ``processes < 1`` or ``timeout_s`` is not positive.
        TimeoutError: if the chunks are not all encoded within ``timeout_s``; the workers
            are then killed, so nothing is left running.

    Concurrency: blocks until every chunk is encoded, at most ``timeout_s`` plus the
    time to stop the workers. Workers are started with :data:`START_METHOD` (fresh
    interpreters), so no lock or thread pool state is inherited from this process.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be an int >= 1, got {processes!r}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not timeout_s > 0:
        raise ValueError(f"timeout_s must be a number > 0, got {timeout_s!r}")
    context = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=_workers.init_worker, initargs=(tokenizer_json,)
    )
    try:
        results = list(pool.map(_workers.encode_chunk, chunks, timeout=timeout_s))
    except TimeoutError:
        _kill_workers(pool)
        raise TimeoutError(f"chunks not encoded within timeout_s={timeout_s}s") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes, so that shutting it down cannot wait on a stuck one."""
    kill = getattr(pool, "kill_workers", None)  # public from Python 3.14
    if kill is not None:
        kill()
        return
    for process in list((pool._processes or {}).values()):
        process.kill()
