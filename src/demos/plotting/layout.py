"""The book's figure style, the page width, and the two helpers every figure starts from.

White background and dark ink, so figures read the same on the site's light and dark
themes; at most :data:`MAX_WIDTH_IN` wide with no text under :data:`MIN_FONT_PT`, so that
on a phone, where the site scales a figure down to the screen's width, its text stays at
9 CSS px or more; legends below the axes, never on data.
"""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["DPI", "MAX_WIDTH_IN", "MIN_FONT_PT", "figure", "fit_titles", "legend", "use_book_style"]

#: Figures are stored at this resolution: 1 inch is DPI CSS px at natural size.
DPI = 100
#: The widest figure, in inches. On a desktop (a 688 px column) it is shown at its natural
#: size (460 px); on a 390 px phone the site scales it down to the 358 px column (0.78),
#: so text of MIN_FONT_PT (12.5 px at natural size) is still 9.7 CSS px there.
#: tests/test_site.py measures that scale on the built site.
MAX_WIDTH_IN = 4.6
#: No text in a figure is smaller than this (titles, labels, ticks, legends, annotations).
MIN_FONT_PT = 9

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
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.frameon": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (MAX_WIDTH_IN, 3.2),
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
    kw.setdefault("fontsize", MIN_FONT_PT)
    # As many columns as fit the figure's width: a wider legend would widen the saved PNG
    # (bbox_inches="tight"), and the site would scale the figure, text and all, down to fit.
    ncols = kw.pop("ncols", min(len(labels), 3))
    renderer = fig.canvas.get_renderer()
    while True:
        made = fig.legend(handles, labels, loc="outside lower center", ncols=ncols, **kw)
        if ncols == 1 or made.get_window_extent(renderer).width <= fig.bbox.width:
            return
        made.remove()
        ncols -= 1


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
    size = figsize or (MAX_WIDTH_IN, 3.2 if ncols == 1 else 3.4)
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


def fit_titles(fig: Figure) -> None:
    """Wrap a title (the figure's or a panel's) that is wider than the figure, at words.

    The notebook stores the PNG cropped to what is drawn (bbox_inches="tight"): a long title
    made it wider than :data:`MAX_WIDTH_IN`, and the site then shrank the whole figure and
    its text. Called before every PNG is written (demos.plotting.alt), so titles set by a
    chapter after :func:`figure` are fitted too.
    """
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)  # lay the figure out first: titles are measured where they will sit
    texts = [fig._suptitle] if fig._suptitle is not None else []
    texts += [ax.title for ax in fig.axes]
    for text in texts:
        content = text.get_text()
        if not content or "\n" in content:
            continue
        box = text.get_window_extent(renderer)
        # A panel's title is centred on its axes, not on the figure: the room it has is
        # twice the distance from that centre to the nearer edge of the figure.
        centre = (box.x0 + box.x1) / 2
        room = 0.96 * min(fig.bbox.width, 2 * min(centre, fig.bbox.width - centre))
        if box.width > room:
            chars = max(12, int(len(content) * room / box.width))
            text.set_text("\n".join(textwrap.wrap(content, chars)))
