"""This chapter's figures, in the book's visual language (:mod:`demos.plotting`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from demos import plotting
from demos.publication.trials import Trial

__all__ = ["heatmap", "loads_vs_threads", "memory_vs_workers", "trial_timeline", "worker_threads"]


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
    fig, ax = plotting.figure(title, xlabel, ylabel,
                              figsize=(plotting.MAX_WIDTH_IN, 0.45 * len(rows) + 2.0))
    cmap = mpl.colors.LinearSegmentedColormap.from_list("broken", ["white", plotting.BROKEN])
    image = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(data):
        ink = "white" if value > 0.6 else plotting.FAMILIES["neutral"][2]
        ax.text(j, i, fmt.format(value), ha="center", va="center", color=ink, fontsize=9)
    fig.colorbar(image, ax=ax, label=cbar_label, format=mpl.ticker.PercentFormatter(1.0))
    return fig, ax


def trial_timeline(trial: Trial, *, title: str, role: str = "", zoom: bool = True,
                   ) -> tuple[Figure, Any]:
    """One trial as a timeline: the loader's steps, each reader's wait and what it saw.

    A reader's bar says how it waited: polling ``is_ready()`` (``wait="poll"`` trials) or
    inside ``get()`` (``wait="get"``: on the Event, in the fixed holder). With ``zoom`` the
    x axis starts shortly before the model was built, where it happens. ``role``
    (``"broken"``, ``"fixed"``) prefixes the readers' bars, which then take its colour.
    """
    waiting = "polling is_ready()" if trial.wait == "poll" else "waiting inside get()"
    waiting = f"{role}: {waiting}" if role else waiting
    spans = [("loader", 0.0, trial.built_ms, "loading the session"),
             ("loader", trial.warm_start_ms, trial.warm_end_ms, "warm-up")]
    marks = [("loader", trial.warm_end_ms, "done")]
    for sight in trial.sights:
        row = f"reader-{sight.reader}"
        seen = sight.saw_ready_ms if sight.saw_ready_ms is not None else sight.done_ms
        spans.append((row, 0.0, seen, waiting))
        label = "ok" if not sight.failed else sight.outcome.split(":")[0]
        marks.append((row, seen, f"ready → {label}"))
    fig, ax = plotting.timeline(spans, marks=marks, title=title, xlabel="time since start (ms)")
    if zoom:
        end = max([trial.warm_end_ms, *(s.done_ms for s in trial.sights)])
        width = end - trial.built_ms
        ax.set_xlim(trial.built_ms - 0.6 * width, end + 0.4 * width)
    return fig, ax


def loads_vs_threads(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, title: str, ylabel: str
) -> tuple[Figure, Any]:
    """Loads at each thread count, one bar per variant side by side, so that variants with
    equal values (every fixed one loads once, both broken ones as often as there are
    threads) stand next to each other instead of one line hiding another."""
    xs = sorted({x for xs_, _ in series.values() for x in xs_})
    fig, ax = plotting.figure(title, "threads", ylabel)
    width = 0.8 / len(series)
    hatches = ("", "//", "..", "xx", "\\\\", "++")  # a second cue besides the shade
    for i, ((label, (threads, values)), style) in enumerate(
            zip(series.items(), plotting.styles(list(series)).values(), strict=True)):
        at = {x: v for x, v in zip(threads, values, strict=True)}
        ax.bar([xs.index(x) + (i - (len(series) - 1) / 2) * width for x in at],
               list(at.values()), width, label=label, color=style["color"],
               hatch=hatches[i % len(hatches)], edgecolor="white", linewidth=0.5)
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.grid(axis="x", visible=False)
    plotting.legend(ax, ncols=2)
    return fig, ax


def worker_threads(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, title: str
) -> tuple[Figure, Any]:
    """OS threads in a worker process against the intra-op threads its session asked for;
    styles differ and lines are shifted sideways so equal lines stay visible."""
    fig, ax = plotting.rate_vs_threads(series, title=title, ylabel="OS threads in the worker")
    styles = [("-", "o", 9), ("--", "s", 7), (":", "^", 7), ("-.", "D", 5)]
    xs = sorted({x for xs_, _ in series.values() for x in xs_})
    gap = min((b - a for a, b in pairwise(xs)), default=1)
    n = len(ax.lines)
    for i, line in enumerate(ax.lines):
        style, marker, size = styles[i % len(styles)]
        line.set_linestyle(style)
        line.set_marker(marker)
        line.set_markersize(size)
        shift = (i - (n - 1) / 2) * 0.12 * gap
        line.set_xdata([x + shift for x in line.get_xdata()])
    ax.relim()  # the limits again, around the shifted lines: no marker cut at an edge
    ax.autoscale_view()
    ax.set_xticks(xs)
    for old in list(fig.legends):  # redraw the legend below the axes with the new styles
        old.remove()
    plotting.legend(ax, ncols=2)
    ax.set_xlabel("intra_op_num_threads of the session")
    return fig, ax


def memory_vs_workers(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, title: str
) -> tuple[Figure, Any]:
    """What a server and its workers cost together (summed PSS) against the workers alive."""
    fig, ax = plotting.rate_vs_threads(series, title=title,
                                       ylabel="MiB, server and workers (sum of PSS)")
    ax.set_xlabel("workers alive")
    return fig, ax
