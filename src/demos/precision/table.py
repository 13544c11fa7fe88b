"""A small table for the chapter's cells: an HTML table on the site, aligned text elsewhere.

A page that prints its results as a table reads at a glance, and the site counts a table as a
break in a run of text; nbval compares the text form, so the numbers stay checked.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Table"]


@dataclass(frozen=True)
class Table:
    """Rows of cells under a header: ``repr`` is aligned text, ``_repr_html_`` a <table>."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
        """A table of ``rows`` (each as long as ``header``), every cell shown with ``str``."""
        cells = tuple(tuple(str(c) for c in row) for row in rows)
        bad = [row for row in cells if len(row) != len(header)]
        if bad:
            raise ValueError(f"every row must have {len(header)} cells, got {bad[0]!r}")
        return cls(tuple(header), cells)

    def __repr__(self) -> str:
        widths = [max(len(r[i]) for r in (self.header, *self.rows))
                  for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in (self.header, *self.rows)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
