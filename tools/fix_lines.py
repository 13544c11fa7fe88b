"""The line-level mutants of the ``# FIX:`` lines (run by ``tools/line_mutants.py``).

A ``# FIX:`` comment marks a line that makes a fix; undoing that line must make a test fail.
This module finds every such comment in ``src/demos`` (comments only, found with
``tokenize``: the marker quoted in a docstring or a string does not count) and, for the
statement each one marks (the statement on its line, or the next one for a comment on a line
of its own), writes the mutants that undo it:

* a simple statement (assignment, call, return, break...) is replaced by ``pass`` at the same
  indent: the line is deleted;
* ``if C:`` becomes ``if False:`` (the guarded fix never runs) and ``if True:`` (the check
  always passes); ``while C:`` becomes ``while False:``;
* ``for x in it:`` becomes ``for x in ():`` (the loop, a check per item, is skipped);
* ``with cm:`` becomes ``if True:`` (the body runs without the lock or the context);
* ``except E:`` becomes ``except ():`` (it catches nothing).

:data:`TARGETED` declares further mutants for named lines, each the specific way that line is
undone in practice (issue 30: a float32 per-batch sum, no ``cancel()`` of unstarted chunks).
A targeted mutant may name any line, marked or not; one marked ``only`` replaces the
generic mutants of its line (a module-level name deleted would only make the import fail).
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMOS = Path("src/demos")
MARKER = "# FIX:"


@dataclass(frozen=True)
class Targeted:
    """A declared mutant: in ``path`` (under src/demos), the one line containing ``anchor``
    gets ``old`` replaced by ``new``."""

    path: str
    anchor: str
    old: str
    new: str
    why: str
    only: bool = False


TARGETED: tuple[Targeted, ...] = (
    Targeted("precision/fixed.py", "values.sum(dtype=np.float64)", "np.float64", "np.float32",
             "issue 30: each batch summed in float32, the total still float64"),
    Targeted("precision/fixed.py", "self._total = 0.0", "0.0", "np.float32(0.0)",
             "the running total kept in float32"),
    Targeted("precision/fixed.py", 'as_numbers(logits, "logits").astype(np.float32)',
             ".astype(np.float32)", "", "softmax computed in the logits' own dtype"),
    Targeted("precision/fixed.py", "np.exp(x - x.max(axis=axis, keepdims=True))",
             "x - x.max(axis=axis, keepdims=True)", "x", "softmax without the max subtracted"),
    Targeted("precision/fixed.py", "quantize_bytes(model, per_channel=True)", "True", "False",
             "int8 with one scale per matrix"),
    Targeted("batching/fixed.py", "            job.cancel()", "job.cancel()", "pass",
             "issue 30: the unstarted chunks are not cancelled on timeout"),
    Targeted("tokenizer_threads/fixed.py", 'START_METHOD = "spawn"', '"spawn"', '"fork"',
             "workers forked from a process whose threads used the tokenizer", only=True),
    Targeted("publication/fixed.py", 'multiprocessing.get_context("spawn")', '"spawn"',
             '"fork"', "a worker forked with the parent's loaded session"),
)


@dataclass(frozen=True)
class Mutant:
    """One mutation of one file: lines ``start..end`` (1-based, inclusive) become ``lines``."""

    path: str  # relative to the repository root
    line: int  # the line it undoes (its # FIX: line, or a targeted line)
    kind: str
    source: str  # that line, stripped
    start: int
    end: int
    lines: tuple[str, ...] = field(repr=False)

    @property
    def chapter(self) -> str:
        """The tests' name: ``batching`` for src/demos/batching/*, ``tour`` for tour.py."""
        parts = Path(self.path).relative_to(DEMOS).parts
        return parts[0] if len(parts) > 1 else Path(parts[0]).stem

    def apply(self, text: str) -> str:
        old = text.splitlines(keepends=True)
        return "".join([*old[: self.start - 1], *self.lines, *old[self.end:]])


def markers(text: str) -> list[int]:
    """The lines (1-based) holding a ``# FIX:`` comment (never one inside a string)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [t.start[0] for t in tokens
            if t.type == tokenize.COMMENT and t.string.startswith(MARKER)]


def _header_end(node: ast.AST) -> int:
    body = getattr(node, "body", None)
    if isinstance(node, (ast.stmt, ast.ExceptHandler)) and isinstance(body, list) and body:
        return body[0].lineno - 1
    return node.end_lineno or node.lineno


def statement_at(tree: ast.Module, lines: list[str], line: int) -> ast.AST | None:
    """The statement (or ``except`` clause) a marker on ``line`` annotates."""
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.stmt, ast.ExceptHandler))]
    if lines[line - 1].lstrip().startswith("#"):  # a comment line: the statement below it
        after = [n for n in nodes if n.lineno > line]
        if not after:
            return None
        first = min(n.lineno for n in after)
        return max((n for n in after if n.lineno == first),
                   key=lambda n: (n.end_lineno or 0) - n.lineno)
    inside = [n for n in nodes if n.lineno <= line <= _header_end(n)]
    return max(inside, key=lambda n: (n.lineno, -(n.end_lineno or 0)), default=None)


def _indent(lines: list[str], node: ast.AST) -> str:
    text = lines[node.lineno - 1]
    return text[: len(text) - len(text.lstrip())]


def _replace_segment(lines: list[str], node: ast.AST, new: str) -> tuple[int, int, tuple[str, ...]]:
    """Replace the source of expression ``node`` (ast offsets are UTF-8 bytes) by ``new``."""
    first = lines[node.lineno - 1].encode()
    last = lines[node.end_lineno - 1].encode()  # type: ignore[operator]
    text = (first[: node.col_offset] + new.encode() + last[node.end_col_offset:]).decode()
    return node.lineno, node.end_lineno, (text,)  # type: ignore[return-value]


def generic(path: str, lines: list[str], node: ast.AST, line: int) -> list[Mutant]:
    """The generic mutants that undo ``node`` (see the module docstring)."""
    source = lines[line - 1].strip()
    edits: list[tuple[str, tuple[int, int, tuple[str, ...]]]] = []
    if isinstance(node, ast.If):
        edits += [(f"if {v}", _replace_segment(lines, node.test, v)) for v in ("False", "True")]
    elif isinstance(node, ast.While):
        edits.append(("while False", _replace_segment(lines, node.test, "False")))
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        edits.append(("for in ()", _replace_segment(lines, node.iter, "()")))
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        if not any(item.optional_vars for item in node.items):
            header = (node.lineno, _header_end(node), (_indent(lines, node) + "if True:\n",))
            edits.append(("with removed", header))
    elif isinstance(node, ast.ExceptHandler):
        if node.type is not None:
            edits.append(("except ()", _replace_segment(lines, node.type, "()")))
    elif isinstance(node, ast.stmt) and not hasattr(node, "body"):
        end = node.end_lineno or node.lineno
        edits.append(("pass", (node.lineno, end, (_indent(lines, node) + "pass\n",))))
    return [Mutant(path, line, kind, source, s, e, new) for kind, (s, e, new) in edits]


def targeted(root: Path, spec: Targeted) -> Mutant:
    """The declared mutant ``spec``; ValueError if its anchor no longer finds one line."""
    path = DEMOS / spec.path
    lines = (root / path).read_text().splitlines(keepends=True)
    found = [i for i, text in enumerate(lines, 1) if spec.anchor in text]
    if len(found) != 1 or spec.old not in lines[found[0] - 1]:
        raise ValueError(f"targeted mutant {spec.path}: anchor {spec.anchor!r} must find one "
                         f"line containing {spec.old!r}, found {len(found)} lines")
    line = found[0]
    new = lines[line - 1].replace(spec.old, spec.new, 1)
    kind = f"{spec.old.strip()} -> {spec.new.strip() or '(removed)'}"
    return Mutant(str(path), line, kind, lines[line - 1].strip(), line, line, (new,))


def fix_files(root: Path = ROOT) -> list[Path]:
    """Every module under src/demos with a ``# FIX:`` comment, repository-relative."""
    found = []
    for path in sorted((root / DEMOS).rglob("*.py")):
        text = path.read_text()
        if MARKER in text and markers(text):
            found.append(path.relative_to(root))
    return found


def mutants(root: Path = ROOT) -> tuple[list[tuple[str, int]], list[Mutant]]:
    """``(every # FIX: line as (path, line), the mutants)``, generic and targeted."""
    out: list[Mutant] = []
    marked: list[tuple[str, int]] = []
    only = {(str(DEMOS / t.path), t.anchor) for t in TARGETED if t.only}
    for path in fix_files(root):
        text = (root / path).read_text()
        lines = text.splitlines(keepends=True)
        tree = ast.parse(text)
        for line in markers(text):
            marked.append((str(path), line))
            if any(p == str(path) and a in lines[line - 1] for p, a in only):
                continue
            node = statement_at(tree, lines, line)
            if node is not None:
                out += generic(str(path), lines, node, line)
    out += [targeted(root, spec) for spec in TARGETED]
    return marked, sorted(out, key=lambda m: (m.path, m.line, m.kind))
