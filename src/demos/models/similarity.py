"""Pairwise cosine similarities: what ``python -m demos embed "text" "text" …`` prints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from demos.models.encoder import Encoder, load_encoder

__all__ = ["format_cosines", "pairwise_cosines"]


def pairwise_cosines(
    texts: Sequence[str], *, encoder: Encoder | None = None
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Embed ``texts`` and return them with their ``[n, n]`` cosine similarity matrix.

    The encoder's rows are unit vectors, so the matrix is their dot products (clipped to
    [-1, 1] against rounding).

    Raises:
        TypeError, ValueError: as :meth:`Encoder.encode` (bare string, non-string, empty).
    """
    enc = load_encoder() if encoder is None else encoder
    embeddings = enc.encode(texts)
    return list(texts), np.clip(embeddings @ embeddings.T, -1.0, 1.0)


def format_cosines(texts: Sequence[str], matrix: npt.NDArray[np.floating], width: int = 40) -> str:
    """A plain-text table: one row per text, numbered columns, 3 decimals."""
    labels = [t if len(t) <= width else t[: width - 1] + "…" for t in texts]
    pad = max(len(label) for label in labels) + 5
    lines = [" " * pad + "".join(f"{j:>8}" for j in range(len(texts)))]
    for i, (label, row) in enumerate(zip(labels, matrix, strict=True)):
        lines.append(f"{i:>3}  {label:<{pad - 5}}" + "".join(f"{v:>8.3f}" for v in row))
    return "\n".join(lines)
