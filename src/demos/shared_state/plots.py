"""Chapter 4's figures, in the book's visual language (:mod:`demos.plotting`).

Colours follow from labels: ``"broken: …"`` series take the broken family, ``"fixed…"`` the
fixed family, anything else is neutral; several series of one role differ by shade and
marker. Every figure is at most :data:`demos.plotting.MAX_WIDTH_IN` wide, with its legend
below the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure

from demos import plotting
from demos.shared_state.counters import CounterResult
from demos.shared_state.oversubscription import DEFAULT, Grid

__all__ = ["counters", "locked_vs_fixed", "oversubscription", "wrong_vs_threads"]



def _lines(ax: Any, x: Sequence[float], series: Mapping[str, Sequence[float]]) -> None:
    for label, style in plotting.styles(list(series)).items():
        ax.plot(x, series[label], label=label, **style)


def wrong_vs_threads(threads: Sequence[int],
                     panels: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """One panel per timing regime: wrong results (%) against request threads, per wrapper."""
    fig, axes = plotting.figure("Wrong results vs request threads", "request threads",
                                "wrong results (%)", ncols=len(panels))
    for ax, (title, series) in zip(axes, panels.items(), strict=True):
        _lines(ax, threads, series)
        ax.set_title(title, fontsize=10)  # >= MIN_FONT_PT
        ax.set_xticks(list(threads))
        ax.set_ylim(-3, 103)
    plotting.legend(fig, ncols=2)
    return fig


def locked_vs_fixed(threads: Sequence[int], overlap: Mapping[str, Sequence[float]],
                    throughput: Mapping[str, Sequence[float]]) -> Figure:
    """Left: the share of time with two or more runs in flight; right: requests per second."""
    fig, (left, right) = plotting.figure("Locked vs fixed wrapper, natural timing",
                                         "request threads", "", ncols=2)
    _lines(left, threads, overlap)
    _lines(right, threads, throughput)
    left.set_ylabel("time with ≥ 2 runs in flight (%)")
    right.set_ylabel("throughput (requests/s)")
    for ax in (left, right):
        ax.set_xticks(list(threads))
        ax.set_ylim(bottom=0)
    plotting.legend(fig)
    return fig


#: The counter patterns that nothing guarantees, and the ones that are correct.
UNSAFE = ("+=", "read–call–write")


def counters(results: Mapping[str, CounterResult]) -> Figure:
    """Updates lost and wall time per increment, per counting pattern."""
    fig, (left, right) = plotting.figure(
        f"Counting calls from {next(iter(results.values())).threads} threads", "", "",
        ncols=2, figsize=(plotting.MAX_WIDTH_IN, 3.8))
    names = list(results)
    role = {p: "broken: not guaranteed" if p in UNSAFE else "fixed: correct" for p in names}
    kinds = plotting.styles(sorted(set(role.values())))
    colour = {label: style["color"] for label, style in kinds.items()}
    expected = next(iter(results.values())).expected
    for ax, values, ylabel in (
            (left, [results[p].lost for p in names], f"updates lost (of {expected:,})"),
            (right, [results[p].ns_per_increment for p in names], "ns per increment")):
        rects = ax.bar(names, values, color=[colour[role[p]] for p in names])
        # Every bar says its value, so a zero is read as "0", not as a missing bar.
        ax.bar_label(rects, labels=[f"{v:,.0f}" for v in values], padding=2,
                     fontsize=plotting.MIN_FONT_PT)
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right",
                      rotation_mode="anchor", fontsize=plotting.MIN_FONT_PT)
        ax.grid(axis="x", visible=False)
    left.set_ylim(bottom=0)
    if not any(results[p].lost for p in names):
        # Natural timing rarely interleaves two threads inside one `+=`: an empty panel is
        # not a proof of safety, and the figure says so where the bars would be.
        left.set_ylim(0, 1)
        left.set_yticks([0])
        left.text(0.5, 0.55, "0 lost in this run:\nnot a guarantee",
                  transform=left.transAxes, ha="center", va="center",
                  fontsize=plotting.MIN_FONT_PT, color=plotting.BROKEN)
    for label in sorted(set(role.values())):
        left.bar(names[0], 0, color=colour[label], label=label)  # legend entries only
    plotting.legend(fig)
    return fig


def oversubscription(grid: Grid) -> Figure:
    """Throughput and p99 latency against request threads, per layout and intra-op setting."""
    fig, (left, right) = plotting.figure(
        f"Request threads × onnxruntime threads on {grid.cores} cores", "request threads", "",
        ncols=2, figsize=(plotting.MAX_WIDTH_IN, 3.9))
    rate: dict[str, list[float]] = {}
    p99: dict[str, list[float]] = {}
    for layout in grid.layouts:
        for k in grid.intra_ops:
            where = "shared session" if layout == "shared" else "session per thread"
            label = (f"broken: default, {where}" if k == DEFAULT
                     else f"fixed: intra_op={k}, {where}")
            rate[label] = [grid.cell(layout, k, n).calls_per_s for n in grid.threads]
            p99[label] = [grid.cell(layout, k, n).p99_ms for n in grid.threads]
    order = sorted(rate, key=lambda label: (plotting.role_of(label) != "fixed", label))
    _lines(left, grid.threads, {label: rate[label] for label in order})
    _lines(right, grid.threads, {label: p99[label] for label in order})
    left.set_ylabel("throughput (requests/s)")
    right.set_ylabel("p99 latency (ms)")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(grid.threads, [str(n) for n in grid.threads])
        ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
        ax.set_ylim(bottom=0)
    plotting.legend(fig, ncols=2)
    return fig
