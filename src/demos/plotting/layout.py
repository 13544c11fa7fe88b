"""The book's figure style, the page width, and the two helpers every figure starts from.

White background and dark ink, so figures read the same on the site's light and dark
themes; at most :data:`MAX_WIDTH_IN` wide, so their text is never scaled below legibility;
legends below the axes, never on data.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["MAX_WIDTH_IN", "figure", "legend", "use_book_style"]

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
