"""Code listings and broken→fixed diffs that render the same in every front-end.

Only the book's site understands MyST directives such as ``literalinclude``; JupyterLab,
Jupyter Notebook and Colab show them as raw text. So the chapters show code by *running*
code: :func:`listing` and :func:`diff` return objects with an HTML form (inline styles
only, since no front-end but the site has the book's CSS) and a plain-text form for
terminals, ``print`` and nbval.

Lesson lines carry ``# PITFALL:`` (broken) or ``# FIX:`` (fixed) markers; listings mark
them, and diffs colour removed lines in the broken colour family and added lines in the
fixed one (:mod:`demos.plotting` defines both). Long lines wrap instead of being cut off at
the box edge, and paths are shown relative to the repository (``src/demos/...``).
"""

from __future__ import annotations

import difflib
import html
import inspect
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_DIFF_LINES", "Code", "diff", "listing", "source_of"]

#: A diff longer than this is a wall, not a lesson: show it hunk by hunk instead.
MAX_DIFF_LINES = 40

MARKERS = ("# PITFALL:", "# FIX:")

# Light backgrounds in the book's colour families (plotting.BROKEN vermillion, FIXED blue).
_REMOVED_BG = "#FBE3D6"
_ADDED_BG = "#DCEBF7"
_MARKED_BG = "#FFF3C4"
_BOX = (
    "font-family:SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace;"
    "font-size:13px;line-height:1.45;background:#F8F8F8;color:#1F1F1F;"
    "border:1px solid #DDDDDD;border-radius:4px;padding:6px 0;margin:4px 0 8px 0;"
    "white-space:pre-wrap;overflow-wrap:anywhere;"
)
_HEAD = "font-family:sans-serif;font-size:12px;color:#555555;margin:6px 0 0 0;"


@dataclass(frozen=True)
class Code:
    """A rendered listing or diff: ``_repr_html_`` for notebooks, ``str`` for terminals.

    Attributes:
        title: what is shown, e.g. ``src/demos/batching/fixed.py · MicroBatcher.submit``.
        lines: ``(kind, text)`` pairs; kind is ``" "`` (context), ``"-"`` (removed),
            ``"+"`` (added), ``"!"`` (a marked lesson line) or ``"@"`` (a hunk header).
    """

    title: str
    lines: tuple[tuple[str, str], ...]

    @property
    def removed(self) -> int:
        return sum(kind == "-" for kind, _ in self.lines)

    @property
    def added(self) -> int:
        return sum(kind == "+" for kind, _ in self.lines)

    def __str__(self) -> str:
        prefix = {" ": "  ", "!": "▶ ", "-": "- ", "+": "+ ", "@": ""}
        body = [f"{prefix[kind]}{text}" for kind, text in self.lines]
        return "\n".join([f"# {self.title}", *body])

    def __repr__(self) -> str:  # what a front-end without HTML (and nbval) shows
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(_html_line(kind, text) for kind, text in self.lines)
        return (
            f"<div class='demos-code'><p style=\"{_HEAD}\">{html.escape(self.title)}</p>"
            f"<div style=\"{_BOX}\">{rows}</div></div>"
        )


def _html_line(kind: str, text: str) -> str:
    style = "display:block;padding:0 10px 0 26px;text-indent:-16px;"
    sign = {" ": " ", "!": "▶", "-": "−", "+": "+", "@": " "}[kind]
    if kind == "-":
        style += f"background:{_REMOVED_BG};"
    elif kind == "+":
        style += f"background:{_ADDED_BG};"
    elif kind == "!":
        style += f"background:{_MARKED_BG};font-weight:600;"
    elif kind == "@":
        style += "color:#777777;font-style:italic;"
    # The sign sits in the hanging indent, so wrapped lines stay aligned with the code.
    css_class = {"-": "demos-del", "+": "demos-add", "!": "demos-mark"}.get(kind, "demos-ctx")
    return (
        f"<span class='{css_class}' "
        f"style=\"{style}\"><span style='color:#888888;user-select:none'>{sign} </span>"
        f"{html.escape(text) or ' '}</span>"
    )


def _repo_relative(path: str | Path) -> str:
    """``src/demos/...`` for a file of this package, whatever the checkout's location."""
    parts = Path(path).resolve().parts
    if "demos" in parts:
        index = len(parts) - 1 - parts[::-1].index("demos")
        return "/".join(("src", *parts[index:]))
    return Path(path).name


def source_of(obj: Any) -> tuple[str, str]:
    """``(title, dedented source)`` of a module, class, function or method.

    Raises:
        TypeError: when ``obj`` has no Python source (a builtin, an instance).
    """
    try:
        path = inspect.getsourcefile(obj)
        code = inspect.getsource(obj)
    except (OSError, TypeError) as error:
        raise TypeError(
            f"obj must be a module, class, function or method with Python source, "
            f"got {type(obj).__name__}: {error}"
        ) from None
    name = getattr(obj, "__qualname__", None) or ""
    if inspect.ismodule(obj):
        name = ""
    title = _repo_relative(path or "?") + (f" · {name}" if name else "")
    return title, textwrap.dedent(code)


def listing(obj: Any, *, mark: Iterable[str] = MARKERS, docstring: bool = True) -> Code:
    """The source of ``obj``, with its ``# PITFALL:`` / ``# FIX:`` lines marked.

    Args:
        obj: a module, class, function or method.
        mark: substrings that make a line a marked lesson line.
        docstring: False drops the leading docstring, for a shorter listing.
    """
    title, code = source_of(obj)
    lines = code.splitlines()
    if not docstring:
        lines = _without_docstring(lines)
    marks = tuple(mark)
    return Code(title, tuple(("!" if any(m in line for m in marks) else " ", line)
                             for line in lines))


def _without_docstring(lines: list[str]) -> list[str]:
    """Drop the docstring that opens a ``def``/``class`` (its signature may span lines)."""
    i = 0
    while i < len(lines) and lines[i].strip().startswith("@"):
        i += 1
    if i == len(lines) or not lines[i].lstrip().startswith(("def ", "async def ", "class ")):
        return lines
    while i < len(lines) and not lines[i].split("#")[0].rstrip().endswith(":"):
        i += 1  # the rest of a signature that spans several lines
    body = i + 1
    if body >= len(lines):
        return lines
    stripped = lines[body].strip()
    quote = stripped[:3]
    if quote not in ('"""', "'''"):
        return lines
    if stripped.count(quote) >= 2 and len(stripped) > 3:
        return lines[:body] + lines[body + 1:]
    for j in range(body + 1, len(lines)):
        if quote in lines[j]:
            return lines[:body] + lines[j + 1:]
    return lines


def diff(
    before: Any,
    after: Any,
    *,
    context: int = 2,
    docstring: bool = False,
    max_lines: int = MAX_DIFF_LINES,
) -> Code:
    """The broken→fixed diff of two objects with source (usually ``broken.X``, ``fixed.X``).

    Pass the smallest objects that hold the fix (a method, not the module), so that each
    diff sits next to the failure it cures.

    Args:
        before: the broken object.
        after: the fixed object.
        context: unchanged lines shown around each change.
        docstring: True keeps the docstrings, which usually differ in wording only.
        max_lines: refuse to build a longer diff.

    Raises:
        ValueError: when the diff is longer than ``max_lines`` (pass a smaller object).
    """
    title_a, code_a = source_of(before)
    title_b, code_b = source_of(after)
    lines_a, lines_b = code_a.splitlines(), code_b.splitlines()
    if not docstring:
        lines_a, lines_b = _without_docstring(lines_a), _without_docstring(lines_b)
    rows: list[tuple[str, str]] = []
    for group in difflib.SequenceMatcher(None, lines_a, lines_b).get_grouped_opcodes(context):
        if rows:
            rows.append(("@", "⋯"))
        for tag, a0, a1, b0, b1 in group:
            if tag == "equal":
                rows += [(" ", line) for line in lines_a[a0:a1]]
                continue
            rows += [("-", line) for line in lines_a[a0:a1]]
            rows += [("+", line) for line in lines_b[b0:b1]]
    if len(rows) > max_lines:
        raise ValueError(
            f"the diff of {title_a} and {title_b} has {len(rows)} lines, expected at most "
            f"{max_lines}: diff a smaller object (one method) so each hunk stays readable"
        )
    if not rows:
        rows = [("@", "(no difference)")]
    return Code(f"{title_a}  →  {title_b.split(' · ')[0]}", tuple(rows))
