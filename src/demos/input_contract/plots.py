"""The chapter's figures: which mistake ended how, and what the silent ones cost.

Colours come from :mod:`demos.plotting`'s roles only: a series labelled ``"broken: …"``
takes the broken family, ``"reference: …"`` the reference colour; each verdict of the grid
takes the family of the side that reaches it (:data:`VERDICT_COLOURS`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import numpy.typing as npt

from demos import plotting
from demos.input_contract.scenario import Attempt

__all__ = ["VERDICT_COLOURS", "padding_costs", "silent_mistakes", "verdict_grid"]

#: A verdict's colour says whose outcome it is. What onnxruntime alone leads to is the
#: broken family: silent (vermillion), an error that leaves out a fact (orange), an error in
#: the runtime's words that names every fact (the lightest vermillion: acceptable, and still
#: not the contract's). The contract's own clear error and a correct result are the fixed
#: family (blue, light blue). Shades come from :mod:`demos.plotting`'s roles, by label.
VERDICT_COLOURS = {
    verdict: plotting.colour_for(f"{role}: {verdict}", shade)
    for verdict, role, shade in (("silent wrong", "broken", 0), ("unclear error", "broken", 1),
                                 ("named by runtime", "broken", 3),
                                 ("clear error", "fixed", 0), ("correct", "fixed", 1))
}
_DARK_INK = {"unclear error", "named by runtime", "correct"}


def verdict_grid(results: Mapping[str, Sequence[Attempt]], *,
                 title: str = "What each mistake led to") -> tuple[Any, Any]:
    """One row per mistake, one column per implementation, coloured by verdict.

    The figure is the text column's width (:data:`demos.plotting.MAX_WIDTH_IN`) whatever
    the number of columns: each verdict is written on two short lines ("named by" /
    "runtime") at :data:`demos.plotting.MIN_FONT_PT`, so the cells stay narrow and the
    mistakes' names keep their room, and nothing spills past the figure's edge.
    """
    impls = list(results)
    cases = [a.case for a in results[impls[0]]]
    fig, ax = plotting.figure(title, "implementation", "",
                              figsize=(plotting.MAX_WIDTH_IN, 0.42 * len(cases) + 1.4))
    for col, impl in enumerate(impls):
        for row, attempt in enumerate(results[impl]):
            ax.add_patch(mpl.patches.Rectangle((col - 0.48, row - 0.45), 0.96, 0.9,
                                               color=VERDICT_COLOURS[attempt.verdict]))
            ink = "black" if attempt.verdict in _DARK_INK else "white"
            ax.text(col, row, "\n".join(textwrap.wrap(attempt.verdict, 9)), ha="center",
                    va="center", color=ink, fontsize=plotting.MIN_FONT_PT, linespacing=1.1)
    ax.set_xlim(-0.5, len(impls) - 0.5)
    ax.set_ylim(len(cases) - 0.5, -0.5)
    ax.set_xticks(range(len(impls)), impls)
    ax.set_yticks(range(len(cases)), cases, fontsize=plotting.MIN_FONT_PT)
    ax.tick_params(length=0)
    ax.grid(visible=False)
    return fig, ax


def silent_mistakes(meant: npt.ArrayLike, got: npt.ArrayLike, default: float,
                    right_start: npt.ArrayLike, swapped_start: npt.ArrayLike) -> tuple[Any, Any]:
    """Left: class probabilities meant vs returned; right: start logits right vs swapped."""
    fig, (left, right) = plotting.figure("Silent mistakes, by their numbers", "", "", ncols=2)
    x = np.arange(len(np.asarray(meant)))
    for offset, label, values in ((-0.2, "reference: meant (temperature 0.5)", meant),
                                  (0.2, f"broken: returned (default {default:g})", got)):
        left.bar(x + offset, values, 0.4, color=plotting.colour_for(label), label=label)
    left.set(xticks=x, xlabel="class", ylabel="probability", title="temperature left out")
    positions = np.arange(len(np.asarray(right_start)))
    for index, (label, values) in enumerate((("reference: start_logits", right_start),
                                             ("broken: start_logits, unpacked by position",
                                              swapped_start))):
        right.plot(positions, values, color=plotting.colour_for(label),
                   marker=plotting.marker_for(index), label=label)
    right.set(xlabel="token position", ylabel="logit", title="outputs swapped")
    plotting.legend(fig, ncols=2)
    return fig, (left, right)


def padding_costs(padding: npt.ArrayLike, cosines: Mapping[str, npt.ArrayLike]) -> tuple[Any, Any]:
    """Cosine to the right embedding against each row's share of padding, per mistake."""
    fig, ax = plotting.figure("The more padding, the further off",
                              "share of the row that is padding", "cosine to the right embedding")
    for index, (name, values) in enumerate(cosines.items()):
        label = f"broken: {name}"
        ax.plot(padding, values, linestyle="none", marker=plotting.marker_for(index),
                markersize=8, color=plotting.colour_for(label, index), label=label)
    ax.set_xlim(-0.05, 1)
    plotting.legend(ax)
    return fig, ax
