"""The compatibility matrix as a reader scans it: HTML tables for "What changed when".

:mod:`demos.compat` records what each environment of the matrix observed; this module only
draws it. Two tables: the environments and their versions, and a grid of every question
(rows, grouped by chapter) against every environment (columns), each cell saying what that
environment observed. A question answered the same everywhere is one wide cell; where an
environment saw something other than the pinned set (the first column), its cell is tinted
in the broken (vermillion) family and marked "≠", so colour is never the only cue.
HTML, not Markdown: a Markdown output is rendered as CommonMark by the site (no tables),
and an observation such as ``300*300/300`` would turn into emphasis.
"""

from __future__ import annotations

from html import escape
from typing import Any

from demos import compat
from demos.plotting.palette import BROKEN, FIXED

__all__ = ["environments_table", "questions_grid"]

#: Every tinted cell sets its own ink too, so the dark theme's light text never lands on it.
_INK = "color:#1F1F1F"
_DIFFERS = "background:#FBE3D4;border:2px solid " + BROKEN + ";font-weight:bold;" + _INK
_PINNED = "background:#E3EFF8;" + _INK
_TABLE = "border-collapse:collapse;font-size:0.85em;line-height:1.3"
_CELL = "border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left"
#: The question stays in view while the answers scroll sideways (on a phone).
_STICKY = "position:sticky;left:0;background:#fff;z-index:1;" + _INK


def _wrap(table: str) -> str:
    # A wide table scrolls inside its own box on a phone; the page never does.
    return f'<div class="demos-compat" style="overflow-x:auto;max-width:100%">{table}</div>'


def environments_table(matrix: list[dict[str, Any]]) -> str:
    """One row per environment: its session name and the versions it ran (pinned first)."""
    columns = ["python", *compat.LIBRARIES]
    head = "".join(f'<th style="{_CELL}">{escape(c)}</th>' for c in ["session", *columns])
    rows = []
    for i, data in enumerate(matrix):
        style = f"{_CELL};{_PINNED}" if i == 0 else _CELL
        cells = [f"<code>{escape(data['session'])}</code>" + (" (pinned)" if i == 0 else "")]
        cells += [escape(str(data["versions"][c])) for c in columns]
        rows.append("<tr>" + "".join(f'<td style="{style}">{c}</td>' for c in cells) + "</tr>")
    return _wrap(f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{''.join(rows)}</tbody></table>")


def questions_grid(matrix: list[dict[str, Any]], titles: dict[str, tuple[str, str]]) -> str:
    """Every probe's question against every environment; ``titles`` maps a pitfall's name
    to its (chapter number, title), for the group headings and their order."""
    labels = [compat.label(d) for d in matrix]
    found = compat.changes(matrix)
    head = "".join(f'<th style="{_CELL};{_PINNED if i == 0 else ""}">{escape(lab)}</th>'
                   for i, lab in enumerate(labels))
    body = []
    for pitfall in sorted({c.pitfall for c in found}, key=lambda n: titles[n]):
        number, title = titles[pitfall]
        heading = f"{_CELL};background:#f4f4f4;{_INK}"
        body.append(f'<tr><th colspan="{len(labels) + 1}" style="{heading}">'
                    f"{escape(str(number))} · {escape(title)}</th></tr>")
        for change in (c for c in found if c.pitfall == pitfall):
            question = (f'<td style="{_CELL};{_STICKY};min-width:10em;max-width:16em">'
                        f"{escape(change.question)}</td>")
            if not change.changed:
                seen = change.seen[0][0]
                body.append(f'<tr>{question}<td colspan="{len(labels)}" style="{_CELL}">'
                            f"all {len(labels)}: {escape(seen)}</td></tr>")
                continue
            answer = {lab: seen for seen, labs in change.seen for lab in labs}
            pinned = answer.get(labels[0])
            cells = []
            for lab in labels:
                seen = answer.get(lab, "not run")
                differs = seen != pinned
                style = f"{_CELL};min-width:9em;{_DIFFERS}" if differs else f"{_CELL};min-width:9em"
                mark = "≠ " if differs else ""
                cells.append(f'<td style="{style}">{mark}{escape(seen)}</td>')
            body.append(f"<tr>{question}{''.join(cells)}</tr>")
    boundaries = sum(c.changed for c in found)
    caption = (f'<caption style="caption-side:bottom;text-align:left;padding-top:4px">'
               f"{boundaries} of {len(found)} questions answer differently somewhere in the "
               f'matrix. <span style="{_DIFFERS};padding:0 4px">≠ tinted</span>: not what the '
               f'pinned set (<span style="{_PINNED};padding:0 4px;color:{FIXED}">first column'
               "</span>) observed.</caption>")
    table = (f'<table style="{_TABLE}">{caption}<thead><tr>'
             f'<th style="{_CELL};{_STICKY}">question</th>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table>")
    return _wrap(table)
