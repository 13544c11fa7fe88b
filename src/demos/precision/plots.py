"""The chapter's figures, in the book's visual language (colours follow from labels)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ml_dtypes
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from demos import plotting
from demos.precision import curves
from demos.precision.scenario import Check

__all__ = ["accumulation", "budget_met", "embedding_drift", "integers", "roundtrip",
           "softmax_nan"]

#: Where a non-finite error is drawn on the log axes (the top edge), and exact ones (bottom).
CEILING, FLOOR = 10.0, 1e-17


def _finfo(dtype: str) -> ml_dtypes.finfo:
    return ml_dtypes.finfo(np.dtype(dtype))


def roundtrip(dtypes: Sequence[str] = ("float16", "bfloat16", "float32")) -> tuple[Figure, Axes]:
    """Worst relative round-trip error per magnitude band, inf drawn at the top edge."""
    series = {}
    for dtype in dtypes:
        magnitude, worst = curves.roundtrip_error(dtype)
        series[dtype] = (magnitude, np.minimum(worst, CEILING))
    fig, ax = plotting.error_vs_magnitude(
        series, title="Round trip float64 → dtype → float64",
        xlabel="magnitude of the value", ylabel="worst relative error")
    # Each format in its own colour (plotting.format_colour: the 16-bit casts in the broken
    # family, float32 blue), told apart by line style and marker too, and each eps line is
    # named where it is drawn, in dark ink (orange text on white is too faint to read).
    for i, (line, dtype) in enumerate(zip(ax.lines, dtypes, strict=True)):
        line.set_color(plotting.format_colour(dtype))
        line.set_linestyle(("-", "--", "-.")[i % 3])
        line.set_marker(plotting.marker_for(i))
        line.set_markevery(0.12)
        line.set_markersize(5)
        eps = float(_finfo(dtype).eps)
        ax.axhline(eps, color=plotting.format_colour(dtype), linestyle=":", linewidth=1.2)
        below = i == 0 and len(dtypes) > 1  # float16's label under its line, off bfloat16's
        ax.annotate(f"{dtype} eps", (1e-30, eps), textcoords="offset points",
                    xytext=(0, -2 if below else 2), va="top" if below else "bottom",
                    fontsize=plotting.MIN_FONT_PT, color=plotting.FAMILIES["neutral"][2])
    for old in list(fig.legends):  # the legend again, with the styles
        old.remove()
    plotting.legend(ax)
    ax.annotate("inf", (3e38, CEILING), textcoords="offset points", xytext=(6, -12))
    ax.set_ylim(1e-9, 30)
    return fig, ax


def integers(starts: npt.ArrayLike,
             dtypes: Sequence[str] = ("float16", "bfloat16", "float32")) -> tuple[Figure, Axes]:
    """The share of 1,000 consecutive ids still distinct after a cast, per first id."""
    starts = np.asarray(starts)
    fig, ax = plotting.figure("Integer ids that survive a cast",
                              "first id of 1,000 consecutive ids", "ids still distinct (%)")
    for i, dtype in enumerate(dtypes):
        kept = curves.distinct_integers(dtype, starts)
        ax.plot(starts, 100 * kept, label=dtype, color=plotting.format_colour(dtype),
                marker=plotting.marker_for(i), markersize=3)
    ax.set_xscale("log")
    plotting.legend(ax)
    return fig, ax


def accumulation(lengths: npt.ArrayLike, budget: float) -> tuple[Figure, Axes]:
    """Relative error of three ways to sum n copies of float32(0.1), with the budget line."""
    lengths = np.asarray(lengths)
    errors = curves.accumulation_error(lengths)
    labels = {"float32 running sum": "broken: float32 running sum",
              "float32 pairwise (np.sum)": "float32 pairwise (np.sum)",
              "float64 running sum": "fixed: float64 running sum"}
    fig, ax = plotting.figure("Summing n copies of float32(0.1)", "values summed (n)",
                              "relative error")
    for i, (key, err) in enumerate(errors.items()):
        label = labels[key]
        ax.plot(lengths, np.maximum(err, FLOOR), label=label, color=plotting.colour_for(label),
                marker=plotting.marker_for(i), markersize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(budget, color=plotting.NEUTRAL, linestyle=":", linewidth=1, label="budget")
    plotting.legend(ax)
    return fig, ax


def softmax_nan(cases: Sequence[tuple[str, object, np.dtype]], grid: npt.ArrayLike,
                rows: np.ndarray) -> tuple[Figure, Axes, dict[str, float | None]]:
    """Rows of a softmax that contain NaN, per largest logit; returns the first NaN per case."""
    grid = np.asarray(grid)
    fig, ax = plotting.figure("Softmax rows with NaN", "largest logit", "rows with NaN (%)")
    first: dict[str, float | None] = {}
    shade: dict[str, int] = {}
    for i, (label, impl, dtype) in enumerate(cases):
        bad = []
        for top in grid:
            logits = rows.copy()
            logits[:, 0] = top
            with np.errstate(all="ignore"):
                p = impl.softmax(logits.astype(dtype))  # type: ignore[attr-defined]
            bad.append(100 * float(np.mean(np.any(np.isnan(p), axis=-1))))
        role = plotting.role_of(label)
        shade[role] = shade.get(role, -1) + 1
        ax.plot(grid, bad, label=label, color=plotting.colour_for(label, shade[role]),
                drawstyle="steps-post", linestyle=("-", "--", ":")[i % 3])
        first[label] = float(grid[int(np.argmax(np.array(bad) > 0))]) if max(bad) else None
    plotting.legend(ax)
    return fig, ax, first


def budget_met(reports: Mapping[str, Sequence[Check]]) -> tuple[Figure, Axes]:
    """Each check's error as a multiple of its budget (log axis), per implementation.

    Bars right of the dotted line at 1 broke the budget; a non-finite error is drawn at the
    right edge. A check that raised delivered no answer: it is marked "refused", not drawn.
    """
    names = [c.name for c in next(iter(reports.values()))]
    fig, ax = plotting.figure("Error delivered, as a multiple of the budget",
                              "error ÷ budget (log scale; 1 = the budget)", "")
    height = 0.8 / len(reports)
    for k, (label, found) in enumerate(reports.items()):
        colour = plotting.colour_for(label)
        for i, check in enumerate(found):
            y = i + (k - (len(reports) - 1) / 2) * height
            if check.verdict in ("loud", "false alarm"):
                ax.annotate("refused: raised an error", (3e-6, y), va="center",
                            fontsize=plotting.MIN_FONT_PT, color=colour)
                continue
            ratio = check.error / check.budget if check.budget > 0 else 0.0
            if ratio == 0.0:
                ax.annotate("exact: error 0", (3e-6, y), va="center",
                            fontsize=plotting.MIN_FONT_PT, color=colour)
                continue
            ratio = min(max(ratio, 1e-6), 1e6)
            ax.barh(y, ratio, left=1e-6, height=height * 0.9, color=colour,
                    label=label if i == 0 else "_")
            if not np.isfinite(check.error):
                ax.annotate("inf", (1e6, y), va="center", xytext=(3, 0),
                            textcoords="offset points", fontsize=plotting.MIN_FONT_PT)
    ax.set_xscale("log")
    ax.set_xlim(1e-6, 1e6)
    ax.axvline(1.0, color=plotting.NEUTRAL, linestyle=":", linewidth=1.5)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    plotting.legend(ax)
    return fig, ax


def embedding_drift(changes: Mapping[str, npt.ArrayLike], budget: float) -> tuple[Figure, Axes]:
    """Each text's ``1 - cos(float32, candidate)``, sorted, per candidate, with the budget."""
    fig, ax = plotting.figure("MiniLM: how far each text's embedding moved",
                              "texts, sorted by their change", "1 − cos(float32, candidate)")
    shade: dict[str, int] = {}
    for i, (label, change) in enumerate(changes.items()):
        values = np.sort(np.maximum(np.asarray(change, dtype=np.float64), FLOOR))
        role = plotting.role_of(label)
        shade[role] = shade.get(role, -1) + 1
        ax.plot(np.arange(1, values.size + 1), values, label=label,
                color=plotting.colour_for(label, shade[role]), marker=plotting.marker_for(i),
                markersize=3, linewidth=1.2)
    ax.set_yscale("log")
    ax.axhline(budget, color=plotting.NEUTRAL, linestyle=":", linewidth=1.5,
               label=f"budget ({budget:g})")
    plotting.legend(ax)
    return fig, ax
