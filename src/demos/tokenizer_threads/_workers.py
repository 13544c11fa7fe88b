"""Worker-process side of ``encode_in_processes``: one tokenizer per worker process.

Kept in its own importable module so that ``spawn`` workers can find the functions.
"""

from __future__ import annotations

from tokenizers import Tokenizer

__all__ = ["encode_chunk", "init_worker"]

# Set once per worker process by init_worker(); only that process's one thread uses it.
_tokenizer: Tokenizer | None = None


def init_worker(tokenizer_json: str) -> None:
    """Build this worker's own tokenizer (the pool's ``initializer``)."""
    global _tokenizer
    _tokenizer = Tokenizer.from_str(tokenizer_json)


def encode_chunk(texts: list[str]) -> list[list[int]]:
    """Token ids of ``texts`` with the worker's tokenizer."""
    if _tokenizer is None:
        raise RuntimeError("init_worker() has not run in this process")
    return [e.ids for e in _tokenizer.encode_batch(texts)]
