"""The probe's own texts, the long text the truncation check cuts, and vector comparisons.

Texts of mixed lengths (6 to 60 words: within the 64 tokens any embedding model takes), so
that a batch mixes short and long rows: padding bugs and shared buffers show up only then.
They are made of common lowercase English words that are one piece each in WordPiece
(BERT) and byte-level BPE vocabularies, so that the first ``n`` words of a text are its
first ``n`` tokens: that is how the truncation check knows a text's truncated form
without the service's tokenizer.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["TEXTS", "WORDS", "cosine", "long_words", "read_reference", "same",
           "write_texts"]

WORDS = ("the", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "by",
         "at", "from", "his", "her", "they", "we", "you", "this", "that", "which", "an",
         "but", "not", "are", "were", "be", "have", "had", "one", "all", "there", "their",
         "when", "new", "time", "people", "city", "water", "school", "house", "world",
         "music", "year", "day", "state", "river", "game", "book", "war", "family", "film",
         "church", "team", "king", "road", "party", "light", "night", "car", "language",
         "train", "bridge", "paper", "market", "island", "story", "field", "power")


def _words(count: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(count))


#: The probe's text set: what --write-texts writes and --reference must embed, in order.
TEXTS: tuple[str, ...] = (
    "A cat sits on the mat.",
    "How do I reset my password?",
    "The river runs past the old mill and under the stone bridge into the town.",
    "Vector search finds the passages nearest in meaning to a query, not in spelling.",
    _words(20, 1),
    _words(40, 2),
    _words(60, 3),
)


def long_words(count: int = 1100, seed: int = 7) -> list[str]:
    """The words of a text far longer than most embedding models take (512 tokens)."""
    rng = random.Random(seed)
    return [rng.choice(WORDS) for _ in range(count)]


def cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Cosine similarity in float64; -2.0 when the shapes differ or a norm is zero."""
    if a.shape != b.shape:
        return -2.0
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = float(np.linalg.norm(a64) * np.linalg.norm(b64))
    return float(a64 @ b64 / norms) if norms > 0 and np.isfinite(norms) else -2.0


def same(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], min_cosine: float) -> bool:
    """Equal within the tolerance: same shape, finite, cosine at least ``min_cosine``."""
    return bool(np.isfinite(a).all() and np.isfinite(b).all()) and cosine(a, b) >= min_cosine


def write_texts(path: str | Path) -> None:
    """Write the probe's texts as JSON (``{"texts": [...]}``) for a reference to be made."""
    Path(path).write_text(json.dumps({"texts": list(TEXTS)}, indent=2) + "\n", "utf-8")


def read_reference(path: str | Path) -> list[npt.NDArray[np.float32]]:
    """Trusted embeddings of :data:`TEXTS`, in order.

    The file is JSON: ``{"texts": [...], "embeddings": [[...], ...]}`` (the texts as
    --write-texts wrote them) or a bare list of embeddings.

    Raises:
        ValueError: naming what is wrong: not JSON, a count or a text that does not match.
    """
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--reference must be a readable JSON file, got {path}: {error}") \
            from None
    rows = data.get("embeddings") if isinstance(data, dict) else data
    if isinstance(data, dict) and data.get("texts") not in (None, list(TEXTS)):
        raise ValueError(f"--reference {path}: its texts are not the probe's texts; "
                         "make it from the file --write-texts writes")
    if not isinstance(rows, list) or len(rows) != len(TEXTS):
        count = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise ValueError(f"--reference {path}: expected {len(TEXTS)} embeddings, got {count}")
    return [np.asarray(row, dtype=np.float32) for row in rows]
