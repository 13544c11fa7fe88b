"""The chapter's one recurring figure: which mistake ended how, for each implementation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl

from demos import plotting
from demos.input_contract.scenario import Attempt

__all__ = ["VERDICT_COLOURS", "verdict_grid"]

#: Silent is the worst (vermillion), an unclear error next (a lighter broken shade); a clear
#: error or a correct result is what we want (blue, a lighter fixed shade).
VERDICT_COLOURS = {"silent wrong": plotting.BROKEN, "unclear error": plotting.FAMILIES["broken"][1],
                   "clear error": plotting.FIXED, "correct": plotting.FAMILIES["fixed"][1]}


def verdict_grid(results: Mapping[str, Sequence[Attempt]], *,
                 title: str = "What each feeding mistake led to") -> tuple[Any, Any]:
    """One row per mistake, one column per implementation, coloured by verdict."""
    impls = list(results)
    cases = [a.case for a in results[impls[0]]]
    fig, ax = plotting.figure(title, "implementation", "",
                              figsize=(2.6 + 2.2 * len(impls), 0.42 * len(cases) + 1.4))
    for col, impl in enumerate(impls):
        for row, attempt in enumerate(results[impl]):
            ax.add_patch(mpl.patches.Rectangle((col - 0.48, row - 0.45), 0.96, 0.9,
                                               color=VERDICT_COLOURS[attempt.verdict]))
            ink = "black" if attempt.verdict == "unclear error" else "white"
            ax.text(col, row, attempt.verdict, ha="center", va="center", color=ink, fontsize=9)
    ax.set_xlim(-0.5, len(impls) - 0.5)
    ax.set_ylim(len(cases) - 0.5, -0.5)
    ax.set_xticks(range(len(impls)), impls)
    ax.set_yticks(range(len(cases)), cases)
    ax.grid(visible=False)
    return fig, ax
