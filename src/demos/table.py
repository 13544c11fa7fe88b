"""A small table a cell returns: an HTML table on the site and in Jupyter, aligned text
elsewhere (a terminal, nbval's comparison), so a page shows rows as rows, not printed columns.

    table(["token", "id"], [("[CLS]", 101), ("cafe", 7668)], title="Word pieces")
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Table", "table"]

_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?(e[-+]?\d+)?$")
_CELL = "padding:2px 10px;text-align:{align};border-bottom:1px solid #d0d0d0;"


@dataclass(frozen=True)
class Table:
    """Rows under a header; numbers right-aligned, text left-aligned."""

    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""

    @staticmethod
    def _text(value: Any) -> str:
        return str(value)

    @staticmethod
    def _numeric(value: Any) -> bool:
        """Numbers, and numbers already formatted (``"90,868,224"``), align right."""
        if isinstance(value, bool):
            return False
        return isinstance(value, int | float) or bool(_NUMBER.match(str(value)))

    def __repr__(self) -> str:  # what a front-end without HTML (and nbval) shows
        cells = [list(self.header), *([self._text(v) for v in row] for row in self.rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.header))]
        lines = [self.title] if self.title else []
        for row in cells:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style=\"{_CELL.format(align='left')}\">{html.escape(h)}</th>"
                       for h in self.header)
        body = "".join(
            "<tr>" + "".join(
                f"<td style=\"{_CELL.format(align='right' if self._numeric(v) else 'left')}\">"
                f"{html.escape(self._text(v))}</td>" for v in row) + "</tr>"
            for row in self.rows)
        caption = (f"<caption style=\"caption-side:top;text-align:left;font-weight:600\">"
                   f"{html.escape(self.title)}</caption>" if self.title else "")
        return (f"<table class='demos-table' style='border-collapse:collapse'>{caption}"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "") -> Table:
    """A :class:`Table`; every row must have one value per header column.

    Raises:
        ValueError: a row whose length is not the header's, naming the row.
    """
    header = tuple(str(h) for h in header)
    rows = tuple(tuple(r) for r in rows)
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {index} must have {len(header)} values (one per header "
                             f"column), got {len(row)}: {row!r}")
    return Table(header, rows, title)
