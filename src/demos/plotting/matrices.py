"""Matrices as figures: a heat map of values and a grid of manifested/held verdicts.

Drawn for the opening pages (:mod:`demos.tour`, the front page, chapter 0).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from demos.plotting.alt import set_cell_alt
from demos.plotting.layout import MAX_WIDTH_IN, MIN_FONT_PT, figure
from demos.plotting.palette import BROKEN, FIXED

__all__ = ["heatmap", "verdict_grid"]


def heatmap(
    matrix: Any,
    row_labels: Sequence[str],
    *,
    title: str,
    col_labels: Sequence[str] | None = None,
    colorbar: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: str | None = "{:.1f}",
    figsize: tuple[float, float] | None = None,
) -> tuple[Figure, Axes]:
    """A matrix of values in neutral greys (a heat map is not broken or fixed), labelled.

    Row labels are drawn whole, never cut; the figure stays within :data:`MAX_WIDTH_IN`, and
    annotations are at least MIN_FONT_PT, so they stay readable on the site.
    """
    values = np.asarray(matrix, dtype=float)
    # Long labels wrap at word boundaries (never cut mid-word), leaving room for the cells.
    wrapped = ["\n".join(textwrap.wrap(label, 28)) or label for label in row_labels]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    height = max(0.4 * len(values), 0.24 * lines) + 1.4
    fig, ax = figure(title, "", "", figsize=figsize or (MAX_WIDTH_IN, height))
    image = ax.imshow(values, cmap="Greys", vmin=vmin, vmax=vmax, aspect="auto")
    ax.grid(False)
    ax.set_yticks(range(len(wrapped)), wrapped, fontsize=MIN_FONT_PT)
    cols = list(col_labels) if col_labels is not None else [str(i) for i in
                                                             range(values.shape[1])]
    ax.set_xticks(range(len(cols)), cols, fontsize=MIN_FONT_PT)
    if annotate:
        top = np.nanmax(values) if vmax is None else vmax
        for (i, j), value in np.ndenumerate(values):
            shown = 0.0 if abs(value) < 0.05 else value  # no "-0.0"
            ax.text(j, i, annotate.format(shown), ha="center", va="center", fontsize=MIN_FONT_PT,
                    color="white" if value > 0.6 * top else "#222222")
    fig.colorbar(image, ax=ax, label=colorbar, shrink=0.9)
    return fig, ax


def verdict_grid(
    rows: Sequence[str],
    columns: Sequence[str],
    manifested: Sequence[Sequence[bool]],
    *,
    title: str,
    notes: Sequence[Sequence[str]] | None = None,
) -> tuple[Figure, Axes]:
    """A grid of verdicts: a cell where the pitfall manifested is broken-coloured, one where
    it held is fixed-coloured, each with its word (so colour is never the only cue)."""
    fig, ax = figure(title, "", "", figsize=(MAX_WIDTH_IN, 0.42 * len(rows) + 1.3))
    for i, row in enumerate(manifested):
        for j, bad in enumerate(row):
            colour = BROKEN if bad else FIXED
            ax.add_patch(mpl.patches.Rectangle((j - 0.47, i - 0.42), 0.94, 0.84,
                                               facecolor=colour, edgecolor="white"))
            word = "manifested" if bad else "held"
            note = f"\n{notes[i][j]}" if notes is not None and notes[i][j] else ""
            cell = ax.text(j, i, word + note, ha="center", va="center", fontsize=MIN_FONT_PT,
                           color="white", fontweight="bold")
            if note:
                set_cell_alt(cell, f"{word} ({note.strip()})")
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(range(len(columns)), list(columns))
    # Long labels wrap at word boundaries, so the cells keep the figure's width.
    ax.set_yticks(range(len(rows)), ["\n".join(textwrap.wrap(r, 24)) or r for r in rows],
                  fontsize=MIN_FONT_PT)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig, ax
