"""The requests: their texts (long enough to be truncated, plus short ones that need
padding), their options, and the tokenizer.json they are encoded with.

One home for what :mod:`.scenario` and :mod:`.measure` both use, so neither imports the
other's internals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LONG", "SHORT", "long_document", "request_texts", "requests_for",
           "shipped_tokenizer_json"]

_SENTENCES = (
    "The search service embeds every incoming query before it looks for neighbours.",
    "Each request carries its own options, such as the maximum number of word pieces.",
    "A tokenizer turns raw text into the integer ids that the encoder understands.",
    "Latency budgets are tight, so the handler shares one tokenizer between threads.",
    "Nobody noticed that the configuration lived on that one shared object.",
    "Support tickets mentioned results that ignored the end of long documents.",
    "The on-call engineer compared the ids of two identical requests and found a difference.",
    "Vector databases store the embeddings and return the closest ones by cosine similarity.",
    "Truncation keeps the first word pieces and silently drops the rest of the text.",
    "Padding adds zeros so that every row of a batch has the same length.",
    "A fork copies the memory of the process but only the thread that called it.",
    "Locks held by threads that no longer exist are never released in the child.",
)

#: Twelve texts of about 150–200 word pieces each (more than any request's max_length).
LONG = tuple(
    " ".join(_SENTENCES[(start + k) % len(_SENTENCES)] for k in range(12))
    for start in range(len(_SENTENCES))
)
#: Short texts: a few word pieces, so that padding to the longest matters.
SHORT = ("find similar tickets", "refund policy", "why is my answer cut short?",
         "embedding latency", "tokenizer threads", "hello")


def request_texts(rng: np.random.Generator, n_long: int = 3) -> tuple[str, ...]:
    """``n_long`` long texts and one short one, drawn with ``rng`` (seed it)."""
    chosen = [LONG[i] for i in rng.choice(len(LONG), size=n_long, replace=False)]
    return (*chosen, SHORT[int(rng.integers(len(SHORT)))])


def long_document(sentences: int = 28) -> str:
    """One document longer than the shipped tokenizer.json's 128 word pieces."""
    return " ".join(_SENTENCES[k % len(_SENTENCES)] for k in range(sentences))


def requests_for(threads: int, requests: int, seed: int = 0) -> list[list[dict[str, Any]]]:
    """Per thread, per call: texts, max_length and pad, distinct among concurrent calls."""
    rng = np.random.default_rng(seed)
    return [[{"texts": request_texts(rng), "max_length": 8 + 8 * ((t + i) % threads),
              "pad": (t + i) % 2 == 0} for i in range(requests)] for t in range(threads)]


def shipped_tokenizer_json() -> str:
    """The running example's ``tokenizer.json``, exactly as the model ships it."""
    from demos.models import model_files

    return model_files().tokenizer_json
