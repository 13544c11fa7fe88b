"""This chapter's figures, in the book's visual language (:mod:`demos.plotting`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from demos import plotting
from demos.publication.trials import Trial

__all__ = ["heatmap", "loads_vs_threads", "trial_timeline"]


def heatmap(
    values: Sequence[Sequence[float]],
    *,
    rows: Sequence[str],
    cols: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    cbar_label: str,
    fmt: str = "{:.0%}",
) -> tuple[Figure, Axes]:
    """A grid of rates in [0, 1], white (0) to vermillion (1), each cell labelled."""
    data = np.asarray(values, dtype=float)
    fig, ax = plotting.figure(title, xlabel, ylabel, figsize=(7.0, 0.45 * len(rows) + 2.0))
    cmap = mpl.colors.LinearSegmentedColormap.from_list("broken", ["#FFFFFF", plotting.BROKEN])
    image = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(data):
        ink = "white" if value > 0.6 else "#222222"
        ax.text(j, i, fmt.format(value), ha="center", va="center", color=ink, fontsize=9)
    fig.colorbar(image, ax=ax, label=cbar_label, format=mpl.ticker.PercentFormatter(1.0))
    return fig, ax


def trial_timeline(trial: Trial, *, title: str, zoom: bool = True) -> tuple[Figure, Any]:
    """One trial as a timeline: the loader's steps, each reader's polling and what it saw.

    With ``zoom`` the x axis starts shortly before the model was built, where it happens.
    """
    spans = [("loader", 0.0, trial.built_ms, "loading the session"),
             ("loader", trial.warm_start_ms, trial.warm_end_ms, "warm-up")]
    marks = [("loader", trial.warm_end_ms, "done")]
    for sight in trial.sights:
        row = f"reader-{sight.reader}"
        seen = sight.saw_ready_ms if sight.saw_ready_ms is not None else sight.done_ms
        spans.append((row, 0.0, seen, "polling is_ready()"))
        label = "ok" if not sight.failed else sight.outcome.split(":")[0]
        marks.append((row, seen, f"ready → {label}"))
    fig, ax = plotting.timeline(spans, marks=marks, title=title, xlabel="time since start (ms)")
    if zoom:
        end = max([trial.warm_end_ms, *(s.done_ms for s in trial.sights)])
        width = end - trial.built_ms
        ax.set_xlim(trial.built_ms - 0.6 * width, end + 0.4 * width)
    handles = ax.get_legend().legend_handles
    ax.legend(handles=handles, loc="upper left", fontsize=9, bbox_to_anchor=(1.0, 1.0))
    return fig, ax


def loads_vs_threads(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, title: str, ylabel: str
) -> tuple[Figure, Any]:
    """Loads against threads, one line per variant; styles differ so equal lines stay visible."""
    fig, ax = plotting.rate_vs_threads(series, title=title, ylabel=ylabel)
    styles = [("-", "o", 9), ("--", "s", 7), (":", "^", 7), ("-.", "D", 5)]
    for i, line in enumerate(ax.lines):
        style, marker, size = styles[i % len(styles)]
        line.set_linestyle(style)
        line.set_marker(marker)
        line.set_markersize(size)
    ax.legend()
    return fig, ax
