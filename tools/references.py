"""Write book/references.md from the chapters' own "Further reading" cells.

    .venv/bin/python tools/references.py          # write book/references.md
    .venv/bin/python tools/references.py --check  # exit 1 if it is not what this writes

One home for every reading list: a chapter cites its threads in its notebook, under
``## Further reading``, and the references page collects those lists in the order of
``_toc.yml``, after the libraries the whole book uses; then a fixed section, the
documentation pages each chapter relies on (:data:`DOCS`, edited here). ``make notebooks``
runs this, and ``tests/test_references.py`` fails while the committed page differs from
what it writes, so a chapter's references are edited in its notebook only.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path("book") / "references.md"
HEADING = "## Further reading"

HEAD = """\
(references)=
# References

<!-- Written by tools/references.py from each chapter's "Further reading" cell: edit the
notebook, then run `make notebooks NB=<the notebook>` or `.venv/bin/python tools/references.py`;
the "Documentation the chapters rely on" section is DOCS in tools/references.py. -->

Every chapter ends with the threads and documents it rests on; this page collects them, in
the order of the book.

## Libraries

- ONNX Runtime, Python API: <https://onnxruntime.ai/docs/api/python/api_summary.html>
- Hugging Face Tokenizers, Python API: <https://huggingface.co/docs/tokenizers/python/latest/>
- ONNX operators: <https://onnx.ai/onnx/operators/>
- Python `threading`: <https://docs.python.org/3/library/threading.html>; `asyncio`: <https://docs.python.org/3/library/asyncio.html>
"""

DOCS_HEADING = "## Documentation the chapters rely on"

#: Per chapter (its notebook's stem): the documentation pages it leans on, one line each
#: on what it is for. Kept here, not in the notebooks, because they are reference pages
#: rather than the threads a chapter argues from; a chapter not in _toc.yml is skipped.
DOCS: dict[str, list[str]] = {
    "01_precision": [
        "NumPy, data type promotion (NEP 50), why float16 and float32 mix the way they do: <https://numpy.org/neps/nep-0050-scalar-promotion.html>",
        "ml_dtypes, bfloat16 for NumPy: <https://github.com/jax-ml/ml_dtypes>",
        "ONNX Runtime, quantization (`quantize_dynamic`, `per_channel`), the int8 path the chapter measures: <https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html>",  # noqa: E501
    ],
    "02_publication": [
        "Python `threading.Event` and `threading.Lock`, the publish-once signal the fix uses: <https://docs.python.org/3/library/threading.html#event-objects>",
        "Python, `os.register_at_fork` and the `spawn` start method, for state that crosses a `fork`: <https://docs.python.org/3/library/os.html#os.register_at_fork>, <https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods>",  # noqa: E501
    ],
    "03_batching": [
        "Python `asyncio` queues and tasks, the batcher's building blocks: <https://docs.python.org/3/library/asyncio-queue.html>, <https://docs.python.org/3/library/asyncio-task.html>",  # noqa: E501
        "Triton Inference Server, dynamic batcher (no queue delay by default), a production batcher to compare with: <https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/batcher.html>",  # noqa: E501
        "text-embeddings-inference, token-based dynamic batching (`--max-batch-tokens`): <https://github.com/huggingface/text-embeddings-inference>",
    ],
    "04_shared_state": [
        "ONNX Runtime, thread management (`intra_op_num_threads`, spinning, global thread pools), what one session's runs share: <https://onnxruntime.ai/docs/performance/tune-performance/threading.html>",  # noqa: E501
        "ONNX Runtime, DirectML execution provider (one thread may call `Run` on a session at a time): <https://onnxruntime.ai/docs/execution-providers/DirectML-ExecutionProvider.html>",  # noqa: E501
    ],
    "05_input_contract": [
        "ONNX versioning (IR versions, opsets, what a model file claims): <https://onnx.ai/onnx/repo-docs/Versioning.html>",
        "ONNX Runtime compatibility (which IR versions and opsets each release reads): <https://onnxruntime.ai/docs/reference/compatibility.html>",
    ],
    "06_tokenizer_threads": [
        "Python `multiprocessing`, start methods (`spawn`, `forkserver`, `fork`), for a tokenizer used across processes: <https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods>",  # noqa: E501
    ],
}

#: Threads the old page cited: listed under the chapter only while no chapter's Further
#: reading already cites them (the key is what that citation's link contains).
THREADS: dict[str, list[tuple[str, str]]] = {
    "01_precision": [
        ("microsoft/onnxruntime/pull/29709", "[microsoft/onnxruntime#29709](https://github.com/microsoft/onnxruntime/pull/29709) (merged): float16 MatMul, Gemm and Conv kernels for the CPU provider through MLAS and KleidiAI on ARM64."),  # noqa: E501
    ],
    "03_batching": [
        ("python/cpython/pull/98518", "[python/cpython#98518](https://github.com/python/cpython/pull/98518) (for issue [#96764](https://github.com/python/cpython/issues/96764)): (merged) `asyncio.wait_for` rewritten on `asyncio.timeout()`, in Python 3.12."),  # noqa: E501
    ],
}


def documentation(root: Path, cited: str) -> str:
    """The fixed section: per chapter in _toc.yml order, its documentation pages, and the
    old page's threads that no chapter's Further reading (``cited``) already gives."""
    parts = [DOCS_HEADING + "\n"]
    for entry in toc_notebooks(root):
        stem = entry.rsplit("/", 1)[-1]
        lines = DOCS.get(stem, []) + [line for key, line in THREADS.get(stem, [])
                                      if f"github.com/{key}" not in cited]
        if lines:
            name = title(nbformat.read(root / f"{entry}.ipynb", as_version=4), stem)
            parts.append(f"### {{doc}}`{name} <../{entry}>`\n\n"
                         + "".join(f"- {line}\n" for line in lines))
    return "\n".join(parts) if len(parts) > 1 else ""


TAIL = """\
## How this book is built

- Jupyter Book 1: <https://jupyterbook.org/en/stable/>
- nbval: <https://nbval.readthedocs.io/>
- The style this book's code and chapters follow: CPython's `asyncio` and `concurrent.futures`, trio's `_sync.py`, QuantEcon's lectures and the scientific-python-lectures.  # noqa: E501
"""  # noqa: E501 (markdown lines are kept whole)


def toc_notebooks(root: Path) -> list[str]:
    """``notebooks/<stem>`` entries of ``_toc.yml``, in book order: each chapter, then its
    depth pages (its ``sections``)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [f for part in toc.get("parts", [])
                             for c in part.get("chapters", [])
                             for f in [c["file"], *(s["file"] for s in c.get("sections", []))]]
    return [f for f in files if f.startswith("notebooks/")]


def title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def further_reading(nb: nbformat.NotebookNode) -> str | None:
    """The markdown under ``## Further reading``, up to the next ``#``/``##`` heading (that
    cell and any markdown cells right after it); None when the notebook has no such heading."""
    chunks: list[str] = []
    found = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if found:
                break
            continue
        lines: list[str] = []
        for line in cell.source.splitlines():
            if line.strip() == HEADING:
                found, chunks, lines = True, [], []
            elif found and re.match(r"^#{1,2} ", line):
                return "\n\n".join(filter(None, [*chunks, _tidy("\n".join(lines))]))
            elif found:
                lines.append(line)
        if found:
            chunks.append(_tidy("\n".join(lines)))
    return "\n\n".join(filter(None, chunks)) if found else None


def _tidy(text: str) -> str:
    """Unquote a list written as a blockquote ("> **See also.** …"), and point relative
    links at the notebooks from book/."""
    lines = text.strip("\n").splitlines()
    if lines and all(line.startswith(">") for line in lines if line.strip()):
        lines = [re.sub(r"^> ?", "", line) for line in lines]
        while lines and (not lines[0].strip() or re.fullmatch(r"\*\*[^*]+\*\*", lines[0])):
            lines.pop(0)
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\]\((?!https?:|#|/|\.\./)([^)\s]+\.ipynb)", r"](../notebooks/\1", text)


def render(root: Path) -> str:
    """The whole page, from the notebooks as they are now."""
    sections = [HEAD]
    for entry in toc_notebooks(root):
        path = root / f"{entry}.ipynb"
        nb = nbformat.read(path, as_version=4)
        body = further_reading(nb)
        if body:
            name = title(nb, path.stem)
            sections.append(f"## {{doc}}`{name} <../{entry}>`\n\n{body}\n")
    docs = documentation(root, "\n".join(sections))
    if docs:
        sections.append(docs)
    sections.append(TAIL)
    return "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if book/references.md is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    text = render(root)
    target = root / PAGE
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{PAGE} is out of date: run `.venv/bin/python tools/references.py`",
                  file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
