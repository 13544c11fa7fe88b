"""The book's one visual language: colours, figure style and the recurring plots.

Broken is always the vermillion family, fixed always the blue family, a reference or ideal
green, and everything else (baselines, inputs, other series) neutral greys (Okabe–Ito
hues, safe for the common forms of colour blindness). A series' colour follows from its
label: ``"broken…"`` / ``"fixed…"`` / ``"reference…"`` (or ``"ideal"``, ``"oracle"``,
``"float64"``) and anything else is neutral; several series of one family differ by shade
and marker. Chapters never pick colours themselves (a test checks their figure code), so a
broken variant is labelled ``"broken: …"`` and takes the broken colour.

Figures have a white background and dark ink, so they read the same on the site's light
and dark themes; they are at most :data:`MAX_WIDTH_IN` wide, the site's text column, so
their text is never scaled below legibility; legends sit below the axes, never on data.

Helpers return the ``(fig, ax)`` they drew on, so a chapter can add to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "BROKEN",
    "FAMILIES",
    "FIXED",
    "MAX_WIDTH_IN",
    "NEUTRAL",
    "REFERENCE",
    "bars",
    "colour_for",
    "error_vs_magnitude",
    "figure",
    "latency_throughput",
    "legend",
    "marker_for",
    "rate_vs_threads",
    "role_of",
    "styles",
    "timeline",
    "use_book_style",
]

Role = Literal["broken", "fixed", "reference", "neutral"]

# Okabe–Ito. https://jfly.uni-koeln.de/color/
BROKEN = "#D55E00"  # vermillion
FIXED = "#0072B2"  # blue
REFERENCE = "#009E73"  # bluish green: the ideal, the oracle, float64
NEUTRAL = "#555555"
#: Shades per role, in order: the first is the role's colour, the others tell several
#: series of one role apart (with markers, so that shade is never the only cue).
FAMILIES: dict[str, tuple[str, ...]] = {
    "broken": (BROKEN, "#E69F00", "#8C3B00", "#F2A37B"),
    "fixed": (FIXED, "#56B4E9", "#003F63", "#8EC3E6"),
    "reference": (REFERENCE, "#005C43"),
    "neutral": (NEUTRAL, "#999999", "#222222", "#BBBBBB"),
}
MARKERS = ("o", "s", "^", "D", "v", "P")
#: The site's text column, in inches at the figures' 100 dpi: wider figures get scaled
#: down by the browser, and their text with them.
MAX_WIDTH_IN = 6.4

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
    "figure.figsize": (6.4, 3.6),
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


def role_of(label: str) -> Role:
    """The role a series label names: broken, fixed, reference, or neutral."""
    key = label.lower().lstrip()
    if key.startswith("broken"):
        return "broken"
    if key.startswith("fixed"):
        return "fixed"
    if key.startswith(("reference", "ideal", "float64", "oracle")):
        return "reference"
    return "neutral"


def colour_for(label: str, index: int = 0) -> str:
    """The colour for a series: its role's family, the ``index``-th shade of it."""
    family = FAMILIES[role_of(label)]
    return family[index % len(family)]


def marker_for(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def _shades(labels: Sequence[str]) -> list[tuple[str, str]]:
    """``(colour, marker)`` per label: each role's series numbered within that role."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        role = role_of(label)
        n = seen.get(role, 0)
        seen[role] = n + 1
        out.append((colour_for(label, n), marker_for(n)))
    return out


def styles(labels: Sequence[str]) -> dict[str, dict[str, str]]:
    """``label -> {"color", "marker"}`` for chapters that draw series themselves: the same
    shades and markers the helpers below use, each role's series numbered within it."""
    return {label: {"color": colour, "marker": marker}
            for label, (colour, marker) in zip(labels, _shades(labels), strict=True)}


def legend(target: Axes | Figure, **kw: Any) -> None:
    """A legend below the plot, off the data (constrained layout makes room for it)."""
    fig = target if isinstance(target, Figure) else target.figure
    axes = fig.axes if isinstance(target, Figure) else [target]
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if not handles:
        return
    kw.setdefault("ncols", min(len(labels), 3))
    kw.setdefault("fontsize", 9)
    fig.legend(handles, labels, loc="outside lower center", **kw)


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
    size = figsize or (MAX_WIDTH_IN, 3.6 if ncols == 1 else 3.4)
    if size[0] > MAX_WIDTH_IN:
        raise ValueError(
            f"figsize width must be <= {MAX_WIDTH_IN} in (the text column), got {size[0]}: "
            "a wider figure is scaled down on the page and its text becomes unreadable"
        )
    fig, ax = plt.subplots(1, ncols, figsize=size, layout="constrained")
    if ncols > 1:
        fig.suptitle(title, fontweight="bold")
    else:
        ax.set_title(title)
    for a in np.atleast_1d(ax):
        a.set_xlabel(xlabel)
        a.set_ylabel(ylabel)
    return fig, ax


Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def _series(ax: Axes, series: Series, *, markers: bool = False, **kw: Any) -> None:
    for (label, (x, y)), (colour, marker) in zip(series.items(), _shades(list(series)),
                                                 strict=True):
        ax.plot(x, y, label=label, color=colour, **({"marker": marker} if markers else {}),
                **kw)
    if len(series) > 1:
        legend(ax)


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
    _series(ax, series, markers=True)
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
    _series(ax, series, markers=True)
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
    """Labelled bars, coloured by their labels' roles (broken, fixed, reference, neutral)."""
    fig, ax = figure(title, xlabel, ylabel)
    labels = list(values)
    heights = [values[k] for k in labels]
    colours = [colour for colour, _ in _shades(labels)]
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
    fig, ax = figure(title, xlabel, "", figsize=(MAX_WIDTH_IN, 0.5 * len(rows) + 1.9))
    shade = dict(zip(kinds, (c for c, _ in _shades(kinds)), strict=True))
    for row_index, row in enumerate(rows):
        for name, start, end, kind in spans:
            if name == row:
                ax.barh(row_index, end - start, left=start, height=0.6,
                        color=shade[kind], alpha=0.85)
        for name, t, label in marks:
            if name == row:
                ax.plot([t, t], [row_index - 0.4, row_index + 0.4], color="#222222", linewidth=1.5)
                ax.annotate(label, (t, row_index - 0.42), fontsize=8, ha="center", va="bottom")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    for kind in kinds:
        ax.barh(0, 0, color=shade[kind], label=kind)  # legend entries, zero width
    legend(ax)
    return fig, ax


# --- Appended for the opening pages (demos.tour, the front page, chapter 0) ----------------

__all__ += ["heatmap", "verdict_grid"]

import textwrap  # noqa: E402  (appended section)


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
    annotations are at least 7 pt, so they stay readable on the site.
    """
    values = np.asarray(matrix, dtype=float)
    # Long labels wrap at word boundaries (never cut mid-word), leaving room for the cells.
    wrapped = ["\n".join(textwrap.wrap(label, 28)) or label for label in row_labels]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    height = max(0.4 * len(values), 0.24 * lines) + 1.4
    fig, ax = figure(title, "", "", figsize=figsize or (MAX_WIDTH_IN, height))
    image = ax.imshow(values, cmap="Greys", vmin=vmin, vmax=vmax, aspect="auto")
    ax.grid(False)
    ax.set_yticks(range(len(wrapped)), wrapped, fontsize=8)
    cols = list(col_labels) if col_labels is not None else [str(i) for i in
                                                             range(values.shape[1])]
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    if annotate:
        top = np.nanmax(values) if vmax is None else vmax
        for (i, j), value in np.ndenumerate(values):
            shown = 0.0 if abs(value) < 0.05 else value  # no "-0.0"
            ax.text(j, i, annotate.format(shown), ha="center", va="center", fontsize=7,
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
            ax.text(j, i, word + note, ha="center", va="center", fontsize=9,
                    color="white", fontweight="bold")
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(range(len(columns)), list(columns))
    ax.set_yticks(range(len(rows)), list(rows), fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig, ax
