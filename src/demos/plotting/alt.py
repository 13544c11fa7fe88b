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

from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["describe", "install", "png_description", "set_alt"]

_KEY = "Description"


def set_alt(fig: Figure, text: str) -> None:
    """Give ``fig`` its own alt text (what it shows, in a sentence), instead of the derived one."""
    if not text.strip():
        raise ValueError("alt text must say what the figure shows, got an empty string")
    fig._demos_alt = text.strip()  # type: ignore[attr-defined]


def _join(parts: list[str]) -> str:
    return "; ".join(dict.fromkeys(p for p in parts if p))


def describe(fig: Figure) -> str:
    """What ``fig`` shows, from its texts: title, panels, axes and series."""
    given = getattr(fig, "_demos_alt", None)
    if given:
        return given
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    panels, axes, series = [], [], []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        panels.append(ax.get_title())
        x, y = ax.get_xlabel(), ax.get_ylabel()
        if x or y:
            axes.append(" against ".join(v for v in (y, x) if v))
        series += [lab for lab in ax.get_legend_handles_labels()[1] if not lab.startswith("_")]
    for legend in fig.legends:
        series += [t.get_text() for t in legend.get_texts()]
    if not title:
        title, panels = (panels[0] if panels else ""), panels[1:]
    text = f"Figure: {title or 'untitled'}."
    if _join(panels):
        text += f" Panels: {_join(panels)}."
    if _join(axes):
        text += f" Plots {_join(axes)}."
    if _join(series):
        text += f" Series: {_join(series)}."
    return " ".join(text.split())


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
    return _print_png(self, filename_or_obj, metadata=metadata, pil_kwargs=pil_kwargs)


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
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt" and body.startswith(_KEY.encode() + b"\0"):
            return body.split(b"\0", 1)[1].decode("latin-1")
        if kind == b"zTXt" and body.startswith(_KEY.encode() + b"\0"):
            return zlib.decompress(body.split(b"\0", 1)[1][1:]).decode("latin-1")
        if kind == b"iTXt" and body.startswith(_KEY.encode() + b"\0"):
            flag, _method = body[len(_KEY) + 1], body[len(_KEY) + 2]
            rest = body[len(_KEY) + 3:].split(b"\0", 2)[2]
            return (zlib.decompress(rest) if flag else rest).decode("utf-8")
        if kind == b"IEND":
            break
        pos += 12 + length
    return None
