"""The other fix: one private copy of the tokenizer per thread, reconfigured freely.

Right when requests need options that cannot be applied after encoding (a different
truncation strategy or stride, a pre-tokenizer switch), or when the code that configures
the tokenizer is not yours. It costs one copy per thread (tens of milliseconds and a
vocabulary's memory each, paid on the thread's first request) and every request still
pays for reconfiguring. :mod:`.fixed` is cheaper when the options are length and padding.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from tokenizers import Tokenizer

from demos.tokenizer_threads.fixed import START_METHOD, encode_in_processes

__all__ = ["START_METHOD", "encode_in_processes", "encode_request", "share"]

# One dict per thread: id(shared tokenizer) -> (that tokenizer, this thread's copy).
# Keeping the shared object in the entry keeps its id from being reused.
_local = threading.local()


def share(tokenizer: Tokenizer) -> Tokenizer:
    """The tokenizer itself: each thread copies it on first use and never writes to it."""
    return tokenizer


def own_copy(shared: Tokenizer) -> Tokenizer:
    """This thread's private copy of ``shared`` (made on the first call in each thread)."""
    copies = _local.__dict__.setdefault("copies", {})
    entry = copies.get(id(shared))
    if entry is None or entry[0] is not shared:
        entry = (shared, Tokenizer.from_str(shared.to_str()))
        copies[id(shared)] = entry
    return entry[1]


def encode_request(
    tokenizer: Tokenizer, texts: Iterable[str], *, max_length: int, pad: bool = True
) -> list[list[int]]:
    """Token ids for one request: at most ``max_length`` ids per text, padded to the longest.

    Concurrency: safe from any number of threads; each reconfigures only its own copy.
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be an int >= 1, got {max_length!r}")
    mine = own_copy(tokenizer)
    mine.enable_truncation(max_length=max_length)
    if pad:
        mine.enable_padding()
    else:
        mine.no_padding()
    batch = [text.strip() for text in texts]
    return [encoding.ids for encoding in mine.encode_batch(batch)]
