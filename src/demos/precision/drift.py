"""How far a lower-precision model drifts from its float32 original, and the budget it must meet.

:func:`compare` measures (per-text cosine, pairwise similarities, rankings);
:func:`check_embeddings` is the gate: a declared budget, checked before a float16 or int8
model replaces the float32 one, failing with a :class:`PrecisionError` that names the text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from demos.precision.errors import PrecisionError

__all__ = ["Drift", "check_embeddings", "compare", "group_of_nearest", "summary"]


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


def group_of_nearest(embeddings: npt.ArrayLike, groups: Sequence[object]) -> list[object]:
    """For each text, the group (topic) of its nearest other text by cosine similarity."""
    e = np.asarray(embeddings, dtype=np.float64)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    return [groups[j] for j in np.argmax(sim, axis=1)]


def summary(found: Drift, groups: Sequence[object]) -> str:
    """One line on what a candidate changed: cosines, rankings, and topics of neighbours."""
    n = len(found.reference)
    now = group_of_nearest(found.candidate, groups)
    kept = sum(a == b for a, b in zip(now, groups, strict=True))
    was = sum(a == b for a, b in zip(group_of_nearest(found.reference, groups), groups,
                                     strict=True))
    return (f"mean cos {1 - float(np.mean(found.cosine_change)):.4f}, worst text 1 - cos = "
            f"{float(np.max(found.cosine_change)):.2g}; nearest neighbour changed for "
            f"{found.top1_changed} of {n} queries, full ranking for {found.rank_changed}; "
            f"nearest neighbour on the query's own topic: {kept} of {n} (float32: {was})")


def check_embeddings(
    reference: npt.ArrayLike,
    candidate: npt.ArrayLike,
    *,
    max_cosine_change: float,
    groups: Sequence[object] | None = None,
    label: str = "candidate",
) -> Drift:
    """The precision budget for a whole model: raise unless ``candidate`` stays within it.

    Args:
        reference: the float32 model's embeddings of a fixed set of texts (unit rows).
        candidate: the lower-precision model's embeddings of the same texts.
        max_cosine_change: the budget per text: ``1 - cos(reference, candidate) <= this``.
        groups: optional label per text (a topic); then every text whose float32 nearest
            neighbour is in its own group must keep a nearest neighbour of its own group.
        label: what the candidate is, for the message (``"int8"``).

    Returns:
        The :class:`Drift`, when the budget holds.

    Raises:
        PrecisionError: naming the worst text, its cosine and the budget.
        ValueError: a bad budget, or ``groups`` of the wrong length.
    """
    if isinstance(max_cosine_change, bool) or not isinstance(max_cosine_change, (int, float)) \
            or not (math.isfinite(max_cosine_change) and 0 <= max_cosine_change < 1):
        raise ValueError(f"max_cosine_change must be a number in [0, 1), got {max_cosine_change!r}")
    found = compare(reference, candidate)
    n = len(found.reference)
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups must have one label per text ({n}), got {len(groups)}")
    worst = int(np.argmax(found.cosine_change))
    over = int(np.count_nonzero(found.cosine_change > max_cosine_change))
    change = float(found.cosine_change[worst])
    if over:
        raise PrecisionError(
            f"texts[{worst}] moved by 1 - cos = {change:.3g} in {label} (budget "
            f"{max_cosine_change:g}); {over} of {n} texts over budget",
            index=(worst,), before=1.0, after=1.0 - change, reason="embedding",
        )
    if groups is not None:
        was = group_of_nearest(found.reference, groups)
        now = group_of_nearest(found.candidate, groups)
        lost = [i for i in range(n) if was[i] == groups[i] and now[i] != groups[i]]
        if lost:
            raise PrecisionError(
                f"texts[{lost[0]}]'s nearest neighbour left its group {groups[lost[0]]!r} in "
                f"{label}; {len(lost)} of {n} texts lost their group's nearest neighbour",
                index=(lost[0],), before=1.0, after=1.0 - float(found.cosine_change[lost[0]]),
                reason="ranking",
            )
    return found
