"""The encoder against sentence-transformers itself, through a stored reference fixture.

The numpy oracle (:mod:`demos.models.reference`) is written from the BERT equations, so it
can share a misreading with the converter. What the model's users actually get is what
sentence-transformers computes, and that needs torch, which the book never installs.
``tools/st_reference.py`` ran sentence-transformers once, in a scratch environment, on the
same wheel's ``model.zip``, and stored its embeddings and versions in ``st_reference.json``
next to this module; :func:`compare` measures the encoder against them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from demos.models.encoder import Encoder, load_encoder
from demos.models.source import model_zip_path

__all__ = ["FIXTURE", "Reference", "compare", "st_reference"]

FIXTURE = Path(__file__).with_name("st_reference.json")


@dataclass(frozen=True)
class Reference:
    """sentence-transformers' output for :attr:`texts`, and what made it.

    Attributes:
        texts: the inputs, in order.
        embeddings: float32 ``[len(texts), dim]``, as sentence-transformers returned them.
        word_pieces: each text's word-piece count after its truncation, specials included.
        versions: python, sentence-transformers, transformers, torch, tokenizers, numpy.
        max_seq_length: the truncation sentence-transformers applied.
        model_zip_sha256: the zip the fixture was made from.
    """

    texts: tuple[str, ...]
    embeddings: npt.NDArray[np.float32]
    word_pieces: tuple[int, ...]
    versions: dict[str, str]
    max_seq_length: int
    model_zip_sha256: str


def st_reference(path: Path = FIXTURE) -> Reference:
    """Load the fixture; raise ValueError naming the field if it is inconsistent."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data = base64.b64decode(raw["embeddings_float32_le_base64"])
    vectors = np.frombuffer(data, dtype="<f4").astype(np.float32)
    texts = tuple(raw["texts"])
    if vectors.size != len(texts) * raw["dim"]:
        raise ValueError(f"embeddings_float32_le_base64: expected {len(texts)} x {raw['dim']} "
                         f"floats, got {vectors.size}")
    if len(raw["word_pieces"]) != len(texts):
        raise ValueError(f"word_pieces: expected {len(texts)} counts, got "
                         f"{len(raw['word_pieces'])}")
    return Reference(texts, vectors.reshape(len(texts), raw["dim"]), tuple(raw["word_pieces"]),
                     dict(raw["versions"]), int(raw["max_seq_length"]), raw["model_zip_sha256"])


def compare(encoder: Encoder | None = None, reference: Reference | None = None) -> dict[str, Any]:
    """Embed the fixture's texts with ``encoder`` and measure the gap to sentence-transformers.

    Returns ``texts``, ``same_zip`` (the fixture was made from this installed zip),
    ``same_word_pieces`` (every text tokenized to the same length), ``worst_cosine`` (the
    lowest cosine between a row and its reference), ``max_abs_diff`` (over every element),
    ``longest`` (the most word pieces of any text, after truncation), ``longest_uncut`` (the
    same without truncation) and ``versions`` (what made the fixture).
    """
    enc = load_encoder() if encoder is None else encoder
    ref = st_reference() if reference is None else reference
    ours = enc.encode(ref.texts)
    cosines = (ours * ref.embeddings).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(ref.embeddings, axis=1))
    zip_sha = hashlib.sha256(model_zip_path().read_bytes()).hexdigest()
    uncut = Tokenizer.from_str(enc.tokenizer_json)
    uncut.no_truncation()
    return {
        "texts": len(ref.texts),
        "same_zip": zip_sha == ref.model_zip_sha256,
        "same_word_pieces": tuple(enc.token_lengths(ref.texts)) == ref.word_pieces,
        "worst_cosine": float(cosines.min()),
        "max_abs_diff": float(np.abs(ours - ref.embeddings).max()),
        "longest": max(ref.word_pieces),
        "longest_uncut": max(len(e.ids) for e in uncut.encode_batch(list(ref.texts))),
        "versions": ref.versions,
    }
