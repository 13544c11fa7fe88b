"""Precision: the service's vectors against trusted ones, and the signs of overflow (chapter 1).

Without ``--reference`` the probe still looks at its own texts' vectors: ``inf`` or ``NaN``
(float16 overflow: anything past 65504 becomes ``inf``, and ``inf - inf`` is ``NaN``), a zero
vector, or vectors of different texts that collapsed onto one (a cast or a normalisation
that lost everything but a common component). With ``--reference`` (embeddings of the
probe's texts made by the reader's trusted pipeline, see ``--write-texts``) it reports the
worst cosine per text and a finding when one falls below ``--min-cosine``.
"""

from __future__ import annotations

import itertools

import numpy as np

from demos.probe.checks import Context, finding
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, cosine

__all__ = ["COLLAPSED_COSINE", "NAME", "run"]

NAME = "precision"
CHAPTER = 1
#: Two different texts of the probe's set closer than this have collapsed onto one vector.
COLLAPSED_COSINE = 0.999
FIX = ("keep the model's arithmetic and the pooling/normalisation in float32 (or check a "
       "float16/int8 model against float32 on real texts with a stated budget); never cast "
       "activations that can pass 65504 to float16; compare against the reference in CI")


async def run(ctx: Context) -> list[Finding]:
    vectors = ctx.alone
    bad = []
    for i, vector in enumerate(vectors):
        if not np.isfinite(vector).all():
            bad.append(f"text {i} ({_short(i)}): {int((~np.isfinite(vector)).sum())} of "
                       f"{vector.size} values are inf or NaN")
        elif not np.any(vector):
            bad.append(f"text {i} ({_short(i)}): the zero vector")
    collapsed = [(i, j, cosine(vectors[i], vectors[j]))
                 for i, j in itertools.combinations(range(len(vectors)), 2)]
    collapsed = [(i, j, c) for i, j, c in collapsed if c >= COLLAPSED_COSINE]
    if collapsed:
        bad += [f"texts {i} and {j} (different texts) have cosine {c:.6f}"
                for i, j, c in collapsed[:3]]
    if bad:
        ctx.comparable = False
        return [finding(NAME, CHAPTER, "non-finite, zero or collapsed vectors", bad, FIX)]
    if ctx.reference is None:
        ctx.notes.append("precision: no --reference given; only inf/NaN/zero/collapsed "
                         "vectors were checked")
        return []
    worst = [(cosine(v, r), i) for i, (v, r) in enumerate(zip(vectors, ctx.reference,
                                                                   strict=True))]
    ctx.notes.append("precision: worst cosine against the reference "
                     f"{min(worst)[0]:.7f} (text {min(worst)[1]})")
    low = sorted(w for w in worst if w[0] < ctx.min_cosine)
    if not low:
        return []
    evidence = [f"text {i} ({_short(i)}): cosine {c:.6f} against the reference" for c, i in low]
    return [finding(NAME, CHAPTER, f"{len(low)} of {len(worst)} texts are further from the "
                    f"reference than cosine {ctx.min_cosine} (worst {low[0][0]:.6f})",
                    evidence, FIX)]


def _short(i: int) -> str:
    text = TEXTS[i]
    return repr(text if len(text) <= 30 else text[:30] + "...")
