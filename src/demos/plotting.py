"""The book's one visual language: colours, figure style and the recurring plots.

Broken is always vermillion, fixed always blue, a reference or ideal always green (the
Okabe–Ito palette, safe for the common forms of colour blindness). Figures have a white
background and dark ink, so they read the same on the site's light and dark themes, and
every axis says what it measures and in which unit.

Helpers return the ``(fig, ax)`` they drew on, so a chapter can add to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "BROKEN",
    "FIXED",
    "NEUTRAL",
    "PALETTE",
    "REFERENCE",
    "bars",
    "colour_for",
    "error_vs_magnitude",
    "figure",
    "latency_throughput",
    "rate_vs_threads",
    "timeline",
    "use_book_style",
]

# Okabe–Ito. https://jfly.uni-koeln.de/color/
BROKEN = "#D55E00"  # vermillion
FIXED = "#0072B2"  # blue
REFERENCE = "#009E73"  # bluish green: the ideal, the oracle, float64
NEUTRAL = "#555555"
#: Extra series colours, in order, for plots with more than broken/fixed/reference.
PALETTE = ("#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")

_RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#222222",
    "text.color": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.0, 3.8),
    "figure.constrained_layout.use": True,
    "lines.linewidth": 2.0,
}


def use_book_style() -> None:
    """Make the book's style matplotlib's default (done once, when this module is imported).

    Global on purpose: every figure in a chapter, including a reader's own ``plt.plot`` in
    an exercise, then speaks the same visual language.
    """
    mpl.rcParams.update(_RC)


use_book_style()


def colour_for(label: str, index: int = 0) -> str:
    """The colour for a series: broken/fixed/reference by name, else the palette in order."""
    key = label.lower()
    if key.startswith("broken"):
        return BROKEN
    if key.startswith("fixed"):
        return FIXED
    if key.startswith(("reference", "ideal", "float64", "oracle")):
        return REFERENCE
    return PALETTE[index % len(PALETTE)]


def figure(
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    ncols: int = 1,
    figsize: tuple[float, float] | None = None,
) -> tuple[Figure, Any]:
    """A new figure in the book's style, with title and axis labels set.

    With ``ncols > 1`` the labels go on every panel and ``ax`` is an array.
    """
    size = figsize or (7.0 if ncols == 1 else 4.2 * ncols, 3.8)
    fig, ax = plt.subplots(1, ncols, figsize=size)
    if ncols > 1:
        fig.suptitle(title, fontweight="bold")
    else:
        ax.set_title(title)
    for a in np.atleast_1d(ax):
        a.set_xlabel(xlabel)
        a.set_ylabel(ylabel)
    return fig, ax


Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def _series(ax: Axes, series: Series, **kw: Any) -> None:
    for i, (label, (x, y)) in enumerate(series.items()):
        ax.plot(x, y, label=label, color=colour_for(label, i), **kw)
    if len(series) > 1:
        ax.legend()


def error_vs_magnitude(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "Round-trip error vs magnitude",
    xlabel: str = "magnitude of the value",
    ylabel: str = "relative error",
) -> tuple[Figure, Axes]:
    """Error against magnitude on log–log axes: ulp staircases and overflow cliffs."""
    fig, ax = figure(title, xlabel, ylabel)
    _series(ax, series, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_yscale("log")
    return fig, ax


def rate_vs_threads(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    title: str = "Failure rate vs threads",
    ylabel: str = "failures per call (%)",
) -> tuple[Figure, Axes]:
    """A rate (failures, wrong results, leaks) against the number of threads."""
    fig, ax = figure(title, "threads", ylabel)
    _series(ax, series, marker="o")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    return fig, ax


def latency_throughput(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "Latency vs throughput",
    xlabel: str = "throughput (requests/s)",
    ylabel: str = "p99 latency (ms)",
) -> tuple[Figure, Axes]:
    """One curve per implementation: each point is one load level."""
    fig, ax = figure(title, xlabel, ylabel)
    _series(ax, series, marker="o")
    return fig, ax


def bars(
    values: Mapping[str, float],
    *,
    title: str,
    ylabel: str,
    xlabel: str = "",
    log: bool = False,
    annotate: str | None = "{:.3g}",
) -> tuple[Figure, Axes]:
    """Labelled bars; a label starting with broken/fixed/reference takes that colour."""
    fig, ax = figure(title, xlabel, ylabel)
    labels = list(values)
    heights = [values[k] for k in labels]
    colours = [colour_for(k, i) for i, k in enumerate(labels)]
    rects = ax.bar(labels, heights, color=colours)
    if log:
        ax.set_yscale("log")
    if annotate:
        ax.bar_label(rects, labels=[annotate.format(h) for h in heights], padding=2, fontsize=9)
    ax.grid(axis="x", visible=False)
    if max(len(k) for k in labels) > 10:
        ax.tick_params(axis="x", labelrotation=20)
    return fig, ax


def timeline(
    spans: Iterable[tuple[str, float, float, str]],
    *,
    title: str = "Who did what, when",
    xlabel: str = "time (ms)",
    marks: Iterable[tuple[str, float, str]] = (),
) -> tuple[Figure, Axes]:
    """An event timeline: one row per thread or task.

    Args:
        spans: ``(row, start, end, kind)`` bars; ``kind`` picks the colour
            (``"broken"``, ``"fixed"``, ``"reference"`` or any other label).
        marks: ``(row, time, label)`` instants, drawn as ticks with a short label.
    """
    spans = list(spans)
    marks = list(marks)
    rows = list(dict.fromkeys([s[0] for s in spans] + [m[0] for m in marks]))
    kinds = list(dict.fromkeys(s[3] for s in spans))
    fig, ax = figure(title, xlabel, "", figsize=(7.0, 0.5 * len(rows) + 1.6))
    for row_index, row in enumerate(rows):
        for name, start, end, kind in spans:
            if name == row:
                ax.barh(row_index, end - start, left=start, height=0.6,
                        color=colour_for(kind, kinds.index(kind)), alpha=0.85)
        for name, t, label in marks:
            if name == row:
                ax.plot([t, t], [row_index - 0.4, row_index + 0.4], color="#222222", linewidth=1.5)
                ax.annotate(label, (t, row_index - 0.42), fontsize=8, ha="center", va="bottom")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    handles = [mpl.patches.Patch(color=colour_for(k, i), label=k) for i, k in enumerate(kinds)]
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=9)
    return fig, ax
