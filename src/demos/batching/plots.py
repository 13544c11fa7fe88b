"""Chapter 3's figures, in the book's visual language (:mod:`demos.plotting`).

Colours follow from labels: ``"broken: …"`` takes the broken family, ``"fixed: …"`` the
fixed family, ``"ideal …"`` the reference green, anything else is neutral. Seven broken
cases are one implementation, so their bars share the broken colour. Every figure is at
most :data:`demos.plotting.MAX_WIDTH_IN` wide, with its legend below the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from demos import plotting

__all__ = ["LABELS", "catches", "heartbeat", "padding", "ways"]

#: bench way -> the label (and so the colour) it has in every figure.
LABELS = {
    "unbatched": "unbatched calls",
    "first_fix": "first fix (deadline)",
    "batcher": "fixed: no idle wait, token budget",
    "offline": "ideal offline batch",
    "offline_unsorted": "offline, unsorted",
}



def catches(catch_s: Mapping[str, float], timeout_s: float) -> Figure:
    """Seconds until the caller got control back, per broken case, against the bound."""
    fig, ax = plotting.figure("Each hang, caught: time until the caller got control back",
                              "", "seconds", figsize=(plotting.MAX_WIDTH_IN, 3.9))
    names = [name.replace("_", "\n") for name in catch_s]
    heights = list(catch_s.values())
    rects = ax.bar(names, heights, color=plotting.colour_for("broken"), label="broken: a case")
    ax.bar_label(rects, labels=[f"{h:.2f}" for h in heights], padding=2, fontsize=9)
    ax.axhline(timeout_s, color=plotting.colour_for("timeout"), linestyle="--", linewidth=1,
               label=f"timeout_s = {timeout_s} s")
    ax.axhline(timeout_s + 0.5, color=plotting.colour_for("bound", 2), linestyle=":",
               linewidth=1.5, label="timeout_s + 0.5 s")
    ax.set_ylim(0, timeout_s + 0.8)
    ax.tick_params(axis="x", labelsize=plotting.MIN_FONT_PT)
    ax.grid(axis="x", visible=False)
    plotting.legend(ax)
    return fig


def heartbeat(late_ms: Mapping[str, Sequence[float]]) -> Figure:
    """Lateness of every tick of a 1 ms timer, per implementation (labels carry the role)."""
    fig, ax = plotting.figure("A 1 ms timer on the event loop while 2 batches of 32 run",
                              "tick of the heartbeat", "lateness (ms)")
    for label, style in plotting.styles(list(late_ms)).items():
        ms = late_ms[label]
        few = len(ms) < 20
        ax.plot(np.arange(len(ms)), ms, label=f"{label} ({len(ms)} ticks)",
                linestyle="-" if few else "none", markersize=8 if few else 3, **style)
    ax.set_yscale("symlog", linthresh=1)
    plotting.legend(ax)
    return fig


def ways(levels: Mapping[str, Mapping[str, Any]], kind: str) -> Figure:
    """Throughput (left) and p50 latency (right) per load level, for each way of serving."""
    data = levels[kind]
    clients = [int(n) for n in data]
    present = [w for w in LABELS if w in data[str(clients[0])]]
    fig, (left, right) = plotting.figure(f"Ways to serve the same requests ({kind} texts)",
                                         "concurrent clients", "", ncols=2,
                                         figsize=(plotting.MAX_WIDTH_IN, 3.9))
    styles = plotting.styles([LABELS[w] for w in present])
    for way in present:
        label = LABELS[way]
        series = [data[str(n)][way] for n in clients]
        left.plot(clients, [s["throughput_rps"] for s in series], label=label, **styles[label])
        if not way.startswith("offline"):  # offline answers everything at the end
            right.plot(clients, [s["p50_ms"] for s in series], **styles[label])
    left.set_ylabel("throughput (requests/s)")
    right.set_ylabel("p50 latency (ms)")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(clients, [str(n) for n in clients])
    left.set_ylim(bottom=0)
    right.set_yscale("log")
    plotting.legend(fig, ncols=2)
    return fig


def padding(waste: Mapping[str, float]) -> Figure:
    """Padded tokens per useful token, per way (1.0: no padding at all)."""
    fig, ax = plotting.figure("Padding waste: tokens computed per token that mattered", "",
                              "padded tokens per useful token")
    labels = list(waste)
    styles = plotting.styles(labels)
    rects = ax.bar([label.replace(": ", ":\n", 1).replace(", ", ",\n") for label in labels],
                   list(waste.values()), color=[styles[k]["color"] for k in labels])
    ax.bar_label(rects, labels=[f"{v:.2f}" for v in waste.values()], padding=2, fontsize=9)
    ax.axhline(1.0, color=plotting.colour_for("no padding"), linestyle="--", linewidth=1)
    ax.set_ylim(0, max(waste.values()) * 1.18)
    ax.tick_params(axis="x", labelsize=plotting.MIN_FONT_PT)
    ax.grid(axis="x", visible=False)
    return fig
