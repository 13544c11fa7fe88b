"""How far a float16 model drifts from its float32 original, and whether any ranking changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Drift", "compare"]


@dataclass(frozen=True)
class Drift:
    """The float32 embeddings, the candidate's, and what changed between them.

    Attributes:
        max_abs_diff: the largest change of any embedding coordinate.
        cosine_change: per text, ``1 - cos(reference, candidate)`` of its own embedding.
        similarity_change: per pair of texts, the change of their cosine similarity.
        top1_changed: texts whose nearest neighbour (another text) changed.
        rank_changed: texts whose full ranking of the other texts changed.
        swapped_pairs: ordered pairs ``(j, k)`` over all queries whose order flipped.
        min_gap: the smallest similarity gap between neighbours in any reference ranking.
    """

    reference: npt.NDArray[np.float32]
    candidate: npt.NDArray[np.float32]
    max_abs_diff: float
    cosine_change: npt.NDArray[np.float64]
    similarity_change: npt.NDArray[np.float64]
    top1_changed: int
    rank_changed: int
    swapped_pairs: int
    min_gap: float


def compare(reference: npt.ArrayLike, candidate: npt.ArrayLike) -> Drift:
    """Compare two embedding matrices of the same texts (rows unit-normalised)."""
    ref = np.asarray(reference, dtype=np.float32)
    cand = np.asarray(candidate, dtype=np.float32)
    if ref.ndim != 2 or ref.shape != cand.shape or ref.shape[0] < 3:
        raise ValueError(
            f"embeddings must be two [n >= 3, dim] matrices of one shape, "
            f"got {ref.shape} and {cand.shape}"
        )
    r, c = ref.astype(np.float64), cand.astype(np.float64)
    cosine = 1.0 - np.sum(r * c, axis=1) / (np.linalg.norm(r, axis=1) * np.linalg.norm(c, axis=1))
    sim_r, sim_c = r @ r.T, c @ c.T
    n = len(r)
    upper = np.triu_indices(n, k=1)
    top1 = rank = swaps = 0
    gaps = []
    for i in range(n):
        others = np.delete(np.arange(n), i)
        order_r = others[np.argsort(-sim_r[i, others], kind="stable")]
        order_c = others[np.argsort(-sim_c[i, others], kind="stable")]
        top1 += int(order_r[0] != order_c[0])
        rank += int(not np.array_equal(order_r, order_c))
        pos = np.empty(n, dtype=int)
        pos[order_c] = np.arange(n - 1)
        p = pos[order_r]  # the candidate's positions, in the reference's order
        swaps += int(np.sum(np.triu(p[:, None] > p[None, :], k=1)))  # inversions
        gaps.append(float(np.min(-np.diff(sim_r[i, order_r]))))
    return Drift(
        reference=ref,
        candidate=cand,
        max_abs_diff=float(np.max(np.abs(r - c))),
        cosine_change=cosine,
        similarity_change=(sim_c - sim_r)[upper],
        top1_changed=top1,
        rank_changed=rank,
        swapped_pairs=swaps,
        min_gap=min(gaps),
    )
