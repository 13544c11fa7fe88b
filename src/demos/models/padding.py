"""Batching by token length: rows cut into batches that pad as little as possible.

A batch padded to its longest row costs ``rows × longest`` tokens, so one long text in a
batch of short ones makes every short one pay for its length. :func:`token_batches` is the
cut the Encoder makes inside ``encode`` and chapter 3's fixed batcher makes per flush; it
knows only lengths, nothing of tokenizers or sessions, so both can share it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CALL_TOKENS", "token_batches"]

#: What one more model call costs, in padded tokens: a row joins a batch unless the padding
#: it would add to the rows already there exceeds this. On 2 CPU cores with MiniLM a call
#: costs ~1.5 ms beyond its rows (about 10 tokens) in onnxruntime, and as much again in
#: Python around it (tokenizing, futures, a thread hop in a batcher): 64 keeps the calls few.
CALL_TOKENS = 64


def token_batches(
    lengths: Sequence[int], *, max_batch: int, max_tokens: int, call_tokens: int = CALL_TOKENS
) -> list[list[int]]:
    """Split the positions of ``lengths`` into batches that waste little on padding.

    A batch padded to its longest row costs ``rows × longest`` tokens. The positions are
    sorted by length (shortest first, ties in input order) and cut greedily: the next row
    joins the current batch while the batch stays within ``max_batch`` rows and
    ``max_tokens`` padded tokens, and the padding it would add to the rows already there
    is at most ``call_tokens`` (what another call would cost instead). A row longer than
    ``max_tokens`` goes in a batch of its own.

    Raises:
        ValueError: for a length < 1 or a bound < 1, naming it.
    """
    for name, value in (("max_batch", max_batch), ("max_tokens", max_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if isinstance(call_tokens, bool) or not isinstance(call_tokens, int) or call_tokens < 0:
        raise ValueError(f"call_tokens must be an int >= 0, got {call_tokens!r}")
    for i, n in enumerate(lengths):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"lengths[{i}] must be an int >= 1, got {n!r}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = 0
    for i in order:
        n = int(lengths[i])
        rows = len(batch)
        if batch and (rows + 1 > max_batch or (rows + 1) * n > max_tokens
                      or rows * (n - longest) > call_tokens):
            batches.append(batch)
            batch, rows = [], 0
        batch.append(i)
        longest = n
    if batch:
        batches.append(batch)
    return batches
