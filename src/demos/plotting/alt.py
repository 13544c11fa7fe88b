"""Alt text for every figure, written into the PNG itself when the figure is saved.

A figure on the site is a PNG output of a notebook cell; Sphinx knows only its file name,
so without help its alt text was that path (``../_images/<hash>.png``). The figure knows
what it shows: its title, its panels' titles, its axes and its series. :func:`describe`
says that in one sentence, and :func:`install` makes every PNG matplotlib writes carry it
as a ``Description`` text chunk (unless the caller passes its own metadata), so any figure
(a helper's, a chapter's own, a reader's) carries it. :mod:`demos.plotting.sphinx_site`
reads it back at build time. A figure can say it better with :func:`set_alt`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["describe", "install", "min_text_px", "png_description", "png_min_text_px", "set_alt",
           "set_cell_alt"]

_KEY = "Description"
#: The smallest text drawn, in pixels of the PNG, so a test can compute how large it is on
#: screen (shown width / natural width x this) instead of trusting a style constant.
_MIN_TEXT = "MinTextPx"


def set_alt(fig: Figure, text: str) -> None:
    """Give ``fig`` its own alt text (what it shows, in a sentence), instead of the derived one."""
    if not text.strip():
        raise ValueError("alt text must say what the figure shows, got an empty string")
    fig._demos_alt = text.strip()  # type: ignore[attr-defined]


def _join(parts: list[str]) -> str:
    return "; ".join(dict.fromkeys(p for p in parts if p))


def _num(value: float) -> str:
    return f"{value:.3g}"


def _ticks(axis: Any) -> list[str]:
    """An axis's tick labels as they will be drawn (before a draw, Text objects are empty)."""
    return [str(t) for t in axis.get_major_formatter().format_ticks(axis.get_majorticklocs())]


def _bars(ax: Any) -> str:
    """Vertical bars: each bar's label and height, as a reader would read them off; grouped
    bars (one container per series) group by group, each series' bars in turn."""
    labels = _ticks(ax.xaxis)
    series = [c for c in ax.containers if isinstance(c, BarContainer)]
    what = ax.get_ylabel() or "value"
    if len(series) > 1:  # grouped: each series' label, then its bars' labels and heights
        said = []
        for c in series:
            heights = [p.get_height() for p in c.patches]
            if len(heights) != len(labels):
                return ""
            pairs = ", ".join(f"{lab} {_num(h)}" for lab, h in zip(labels, heights, strict=True))
            said.append(f"{c.get_label().lstrip('_') or 'series'}: {pairs}")
        return f"Grouped bars of {what}: {'; '.join(said[:6])}."
    heights = [p.get_height() for c in series for p in c.patches if p.get_width() > 0]
    if not heights or len(labels) != len(heights):
        return ""
    pairs = [f"{lab} {_num(h)}" for lab, h in zip(labels, heights, strict=True)][:8]
    return f"Bars of {what}: {', '.join(pairs)}."


def _hbars(ax: Any) -> str:
    """Horizontal bars that are not a timeline: each bar's row label and length."""
    labels = _ticks(ax.yaxis)
    widths = [p.get_width() for c in ax.containers if isinstance(c, BarContainer)
              for p in c.patches]
    if not widths or len(labels) != len(widths):
        return ""
    pairs = [f"{lab} {_num(w)}" for lab, w in zip(labels, widths, strict=True)][:8]
    return f"Bars of {ax.get_xlabel() or 'value'}: {', '.join(pairs)}."


def _lines(ax: Any) -> str:
    """Line series: each one's name and where it starts and ends."""
    said = []
    for line in ax.get_lines():
        label = line.get_label()
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if label.startswith("_") or len(y) < 2 or not np.isfinite(y).any():
            continue
        said.append(f"{label} from {_num(y[0])} at {_num(x[0])} to {_num(y[-1])} at "
                    f"{_num(x[-1])}")
    if not said:
        return ""
    what = " against ".join(v for v in (ax.get_ylabel(), ax.get_xlabel()) if v)
    return f"Lines{' of ' + what if what else ''}: {'; '.join(said[:6])}."


def _timeline(ax: Any) -> str:
    """Horizontal bars: one row per thread or task, how many spans each, and the time span."""
    rows = [t.get_text() for t in ax.get_yticklabels()]
    spans = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches
             if p.get_width() > 0]
    if not rows or not spans:
        return ""
    start = min(p.get_x() for p in spans)
    end = max(p.get_x() + p.get_width() for p in spans)
    return (f"A timeline of {len(spans)} spans on {len(rows)} rows ({', '.join(rows[:8])}), "
            f"from {_num(start)} to {_num(end)} {ax.get_xlabel() or ''}.").replace(" .", ".")


def _cell_words(text: Text) -> str:
    """What a grid cell says: its own reading if it was given one (:func:`set_cell_alt`),
    else all its lines, as the phrase they were wrapped from ("named by" / "runtime")."""
    given = getattr(text, "_demos_alt", None)
    return given or " ".join(text.get_text().replace("-\n", "-").split())


def set_cell_alt(text: Text, words: str) -> None:
    """How a grid cell reads aloud, when its lines are not one phrase (a verdict and, under
    it, its count: ``"manifested (3 of 20)"``)."""
    text._demos_alt = words  # type: ignore[attr-defined]


def _grid(ax: Any) -> str:
    """A grid of words (a verdict grid): each row's label and the words in its cells."""
    rows = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    words: dict[int, list[tuple[float, str]]] = {}
    for text in ax.texts:
        x, y = text.get_position()
        words.setdefault(round(y), []).append((x, _cell_words(text)))
    if not rows or not words:
        return ""
    said = [f"{rows[i]}: " + ", ".join(f"{cols[round(x)]} {w}" if round(x) < len(cols) else w
                                       for x, w in sorted(words[i]))
            for i in sorted(words) if 0 <= i < len(rows)]
    return "Grid: " + "; ".join(said) + "."


def _heatmap(ax: Any) -> str:
    image = ax.images[0].get_array()
    values = np.asarray(image, float)
    return (f"A heat map of {values.shape[0]} by {values.shape[1]} values from "
            f"{_num(np.nanmin(values))} to {_num(np.nanmax(values))}.")


def _what_it_shows(ax: Any) -> str:
    if ax.images:
        return _heatmap(ax)
    bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]
    if bars and getattr(ax, "_demos_timeline", False):  # drawn by charts.timeline
        return _timeline(ax)
    if bars and all(getattr(c, "orientation", "vertical") == "horizontal"
                    for c in ax.containers if isinstance(c, BarContainer)):
        return _hbars(ax)
    if bars:
        return _bars(ax)
    if any(not ln.get_label().startswith("_") for ln in ax.get_lines()):
        return _lines(ax)
    if ax.texts and ax.get_yticklabels():
        return _grid(ax)
    return ""


def describe(fig: Figure) -> str:
    """What ``fig`` shows, in sentences: its title, then per panel what its data say (each
    bar's height, each line's start and end, a timeline's rows and time span, a grid's
    words, a heat map's range), so a reader who cannot see it is told the same."""
    given = getattr(fig, "_demos_alt", None)
    if given:
        return given
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    panels = []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        try:
            shown = _what_it_shows(ax)
        except (ValueError, TypeError, IndexError):  # an unusual axes: say what it is named
            shown = ""
        if not shown:
            what = " against ".join(v for v in (ax.get_ylabel(), ax.get_xlabel()) if v)
            shown = f"Plots {what}." if what else ""
        name = ax.get_title()
        if not title and name and not panels:
            title, name = name, ""
        panels.append(f"{name}: {shown}" if name and shown else name or shown)
    text = f"Figure: {(title or 'untitled').rstrip('.')}. " + " ".join(p for p in panels if p)
    # A title wrapped at a hyphen ("warm-\nup") reads as the word it was.
    return " ".join(text.replace("-\n", "-").replace("\n", " ").split())


_print_png = FigureCanvasAgg.print_png


def _print_png_described(self: FigureCanvasAgg, filename_or_obj: Any, *,
                         metadata: dict[str, str] | None = None,
                         pil_kwargs: dict[str, Any] | None = None, **_others: Any) -> Any:
    # print_figure passes a print method from outside matplotlib every option it has for
    # any renderer (dpi, orientation, ...); print_png takes none of them (the canvas has).
    from demos.plotting.layout import fit_titles  # here: layout imports this module's user

    fit_titles(self.figure)
    metadata = dict(metadata or {})
    metadata.setdefault(_KEY, describe(self.figure))
    smallest = min_text_px(self.figure)
    if smallest is not None:
        metadata.setdefault(_MIN_TEXT, f"{smallest:.2f}")
    return _print_png(self, filename_or_obj, metadata=metadata, pil_kwargs=pil_kwargs)


def min_text_px(fig: Figure) -> float | None:
    """The size of the smallest visible, non-empty text in ``fig``, in pixels at its dpi."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0]
    return min(sizes) * fig.dpi / 72 if sizes else None


_print_figure = FigureCanvasBase.print_figure


def _print_figure_fitted(self: FigureCanvasBase, *args: Any, **kwargs: Any) -> Any:
    # Titles are fitted before print_figure measures the drawing for bbox_inches="tight"
    # (the inline backend's setting): fitted only in print_png, a long title was wrapped
    # after the crop was computed, and the stored PNG kept the unwrapped title's width.
    from demos.plotting.layout import fit_titles

    fit_titles(self.figure)
    return _print_figure(self, *args, **kwargs)


def install() -> None:
    """Make every PNG matplotlib's Agg canvases write (the inline backend's too) describe
    its figure, with its titles fitted to its width first. Idempotent; done when
    :mod:`demos.plotting` is imported."""
    FigureCanvasAgg.print_png = _print_png_described  # type: ignore[method-assign]
    FigureCanvasBase.print_figure = _print_figure_fitted  # type: ignore[method-assign]


def png_description(path: Path) -> str | None:
    """The ``Description`` text chunk of a PNG file, or None (not a PNG, or none written)."""
    return _png_text(path, _KEY)


def png_min_text_px(path: Path) -> float | None:
    """The smallest text's size in the PNG's pixels, as written by :func:`install`, or None."""
    found = _png_text(path, _MIN_TEXT)
    return float(found) if found else None


def _png_text(path: Path, key: str) -> str | None:
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt" and body.startswith(key.encode() + b"\0"):
            return body.split(b"\0", 1)[1].decode("latin-1")
        if kind == b"zTXt" and body.startswith(key.encode() + b"\0"):
            return zlib.decompress(body.split(b"\0", 1)[1][1:]).decode("latin-1")
        if kind == b"iTXt" and body.startswith(key.encode() + b"\0"):
            flag, _method = body[len(key) + 1], body[len(key) + 2]
            rest = body[len(key) + 3:].split(b"\0", 2)[2]
            return (zlib.decompress(rest) if flag else rest).decode("utf-8")
        if kind == b"IEND":
            break
        pos += 12 + length
    return None
