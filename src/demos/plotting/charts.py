"""The recurring plots: error against magnitude, rates against threads, latency against
throughput, labelled bars and event timelines, each coloured by its series' roles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from demos.plotting.layout import MAX_WIDTH_IN, MIN_FONT_PT, figure, legend
from demos.plotting.palette import _shades

__all__ = ["bars", "error_vs_magnitude", "latency_throughput", "rate_vs_threads", "timeline"]

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
        ax.bar_label(rects, labels=[annotate.format(h) for h in heights], padding=2,
                     fontsize=MIN_FONT_PT)
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
    sort_rows: bool = False,
    outline: bool = False,
) -> tuple[Figure, Axes]:
    """An event timeline: one row per thread or task, in first-seen order (the order things
    happened) or, with ``sort_rows``, by name with numbers in numeric order (thread 0, 1, 2).

    Args:
        spans: ``(row, start, end, kind)`` bars; ``kind`` picks the colour
            (``"broken"``, ``"fixed"``, ``"reference"`` or any other label).
        marks: ``(row, time, label)`` instants, drawn as ticks with a short label.
        outline: a white edge around each bar, so back-to-back spans (one thread's calls)
            read as separate bars, not as one long one.
    """
    spans = list(spans)
    marks = list(marks)
    rows = list(dict.fromkeys([s[0] for s in spans] + [m[0] for m in marks]))
    if sort_rows:
        rows.sort(key=lambda r: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", r)])
    kinds = list(dict.fromkeys(s[3] for s in spans))
    fig, ax = figure(title, xlabel, "", figsize=(MAX_WIDTH_IN, 0.5 * len(rows) + 1.9))
    shade = dict(zip(kinds, (c for c, _ in _shades(kinds)), strict=True))
    for row_index, row in enumerate(rows):
        for name, start, end, kind in spans:
            if name == row:
                ax.barh(row_index, end - start, left=start, height=0.6,
                        color=shade[kind], alpha=0.85,
                        **({"edgecolor": "white", "linewidth": 1.5} if outline else {}))
        for name, t, label in marks:
            if name == row:
                ax.plot([t, t], [row_index - 0.4, row_index + 0.4], color="#222222", linewidth=1.5)
                ax.annotate(label, (t, row_index - 0.42), fontsize=MIN_FONT_PT, ha="center",
                            va="bottom")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    for kind in kinds:
        ax.barh(0, 0, color=shade[kind], label=kind)  # legend entries, zero width
    legend(ax)
    ax._demos_timeline = True  # type: ignore[attr-defined]  # alt.describe: a timeline
    return fig, ax
