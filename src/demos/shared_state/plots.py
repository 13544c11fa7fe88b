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
from demos.shared_state.layouts import Layouts
from demos.shared_state.oversubscription import DEFAULT, Grid

__all__ = ["counters", "layouts", "locked_vs_fixed", "oversubscription", "verdict",
           "wrong_vs_threads"]


def verdict(rows: Mapping[str, tuple[float, float, float]]) -> Figure:
    """The chapter in one figure: per wrapper, wrong results and lost counts (% of calls)
    and the share of time with two or more runs in flight (%)."""
    fig, axes = plotting.figure("Two request threads, one wrapper", "", "", ncols=3,
                                figsize=(plotting.MAX_WIDTH_IN, 3.3))
    names = list(rows)
    colours = [style["color"] for style in plotting.styles(names).values()]
    short = [name.split(": ")[-1] for name in names]
    titles = ("wrong results", "counts lost", "overlap")
    for i, (ax, title) in enumerate(zip(axes, titles, strict=True)):
        values = [rows[name][i] for name in names]
        rects = ax.bar(range(len(names)), values, color=colours)
        ax.bar_label(rects, labels=[f"{v:.0f}%" for v in values], padding=2,
                     fontsize=plotting.MIN_FONT_PT)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 115)
        ax.set_yticks([0, 50, 100])
        ax.set_xticks(range(len(names)), short, rotation=35, ha="right",
                      rotation_mode="anchor", fontsize=plotting.MIN_FONT_PT)
        ax.grid(axis="x", visible=False)
    axes[0].set_ylabel("% of calls, or of time")
    for name, colour in zip(names, colours, strict=True):
        axes[0].bar(0, 0, color=colour, label=name)  # legend entries only
    plotting.legend(fig)
    said = "; ".join(f"{name}: {rows[name][0]:.0f}% wrong, {rows[name][1]:.0f}% of counts "
                     f"lost, two runs in flight {rows[name][2]:.0f}% of the time"
                     for name in names)
    plotting.set_alt(fig, f"Bar charts, two request threads sharing one wrapper. {said}.")
    return fig


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
    """Updates counted against made, per counting pattern: lost updates are the gap.

    ``results`` maps a label (a pattern, and how the threads were run) to what it counted;
    a label naming an :data:`UNSAFE` pattern is drawn in the broken family, the others in
    the fixed family. Each bar says ``counted of expected``, so a loss is read, not guessed.
    """
    first = next(iter(results.values()))
    fig, ax = plotting.figure(f"Counting calls from {first.threads} threads",
                                 "updates counted (% of updates made)", "",
                                 figsize=(plotting.MAX_WIDTH_IN, 3.6))
    names = list(results)
    role = {p: "broken: " if p.startswith(UNSAFE) else "fixed: " for p in names}
    kinds = plotting.styles(sorted(set(role.values())))
    colour = {label: style["color"] for label, style in kinds.items()}
    share = [100 * results[p].counted / results[p].expected for p in names]
    rects = ax.barh(names, share, color=[colour[role[p]] for p in names])
    ax.bar_label(rects, labels=[f"{results[p].counted:,} of {results[p].expected:,}"
                                for p in names], padding=3, fontsize=plotting.MIN_FONT_PT)
    ax.set_xlim(0, 135)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.axvline(100, color=plotting.NEUTRAL, linewidth=0.8, linestyle=":")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=plotting.MIN_FONT_PT)
    ax.grid(axis="y", visible=False)
    ax.bar(0, 0, color=colour["broken: "], label="broken: nothing guarantees the count")
    ax.bar(0, 0, color=colour["fixed: "], label="fixed: correct by construction")
    plotting.legend(fig)
    lost = [f"{p} lost {results[p].lost:,} of {results[p].expected:,}"
            for p in names if results[p].lost]
    plotting.set_alt(fig, f"Bar chart: updates counted as a share of updates made, from "
                          f"{first.threads} threads, per counting pattern. "
                          + ("; ".join(lost) if lost else "No pattern lost an update")
                          + "; every other pattern counted every update.")
    return fig


def layouts(result: Layouts) -> Figure:
    """Throughput and p99 against ``intra_op_num_threads``, one line per serving layout."""
    fig, (left, right) = plotting.figure(
        f"{result.workers} concurrent requests on {result.cores} cores, three layouts",
        "intra_op_num_threads", "", ncols=2, figsize=(plotting.MAX_WIDTH_IN, 3.9))
    labels = {layout: (layout if layout == "one request" else f"{result.workers} × {layout}")
              for layout in result.layouts}
    styles = plotting.styles(list(labels.values()))
    for layout, label in labels.items():
        x = result.intra_ops
        left.plot(x, [result.point(layout, k).calls_per_s for k in x], label=label,
                  **styles[label])
        right.plot(x, [result.point(layout, k).p99_ms for k in x], **styles[label])
    left.set_ylabel("throughput (requests/s)")
    right.set_ylabel("p99 latency (ms)")
    for ax in (left, right):
        ax.set_xticks(result.intra_ops)
        ax.set_ylim(bottom=0)
    plotting.legend(fig, ncols=2)
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
