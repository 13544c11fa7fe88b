"""Time every notebook top to bottom with nbclient; write the data and the guide's table.

    .venv/bin/python tools/measure_notebooks.py [NOTEBOOK ...]

A NOTEBOOK is a path (``notebooks/03_batching.ipynb``) or a name in ``notebooks/``
(``03_batching.ipynb``, ``03_batching``), from any working directory.

writes

* ``book/data/notebook_times.json``: per notebook, the wall-clock seconds of one
  execution (kernel start included), its code cells and exercises, and the sha256 of its
  code cells' sources at the time, so ``tests/test_workshop.py`` can tell when a notebook
  changed after it was measured; when and under what load it was measured; and the
  machine (cores, Python);
* ``book/_generated/notebook_times.md``: the table ``book/workshop.md`` includes.

Nothing is written back to the notebooks: they execute in memory. Run it on a quiet machine
after the notebooks change (``make notebooks``), and commit both files. With arguments, only
those notebooks are re-measured; the others keep their entries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from references import title  # one reading of a notebook's `# Title` line

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "data" / "notebook_times.json"
TABLE = ROOT / "book" / "_generated" / "notebook_times.md"


def sources_sha256(nb: nbformat.NotebookNode) -> str:
    """A hash of what the notebook runs: its code cells' sources (not the prose, not the
    outputs), so a changed cell shows that the measured time may be stale."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


def measure(path: Path, timeout_s: int = 600) -> dict:
    nb = nbformat.read(path, as_version=4)
    entry = {
        "title": title(nb, path.stem),
        "sources_sha256": sources_sha256(nb),
        "code_cells": sum(c.cell_type == "code" for c in nb.cells),
        "exercises": sum(len(re.findall(r"^### Exercise", c.source, re.M))
                         for c in nb.cells if c.cell_type == "markdown"),
    }
    os.environ["DEMOS_NO_PROGRESS"] = "1"
    entry["measured"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry["load_average"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    entry["seconds"] = round(time.perf_counter() - start, 1)
    return entry


def resolve(name: str | Path) -> Path:
    """The notebook a command line names: a path as given, else one in ``notebooks/``
    (with or without ``.ipynb``). Refuses a name that is neither (ValueError)."""
    given = Path(name)
    candidates = [given, ROOT / given, ROOT / "notebooks" / given.name]
    if given.suffix != ".ipynb":
        candidates += [c.with_name(c.name + ".ipynb") for c in candidates]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    known = ", ".join(p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb")))
    raise ValueError(f"NOTEBOOK must be a notebook in notebooks/ ({known}), got {str(name)!r}")


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def render_table(data: dict) -> str:
    """The markdown table the guide includes (MyST-free: it is also inlined in guide.md)."""
    machine = data["machine"]
    rows = ["| notebook | chapter | measured run time | code cells | exercises |",
            "|---|---|---:|---:|---:|"]
    for name, entry in data["notebooks"].items():
        rows.append(f"| `{name}` | {entry['title']} | {entry['seconds']:.0f} s | "
                    f"{entry['code_cells']} | {entry['exercises']} |")
    total = sum(e["seconds"] for e in data["notebooks"].values())
    entries = list(data["notebooks"].values())
    dates = sorted(e.get("measured", machine["date"]) for e in entries)
    loads = [e.get("load_average", machine["load_average"]) for e in entries]
    when = dates[0] if dates[0] == dates[-1] else f"between {dates[0]} and {dates[-1]}"
    note = (f"Measured by `tools/measure_notebooks.py` {when}: one execution of each "
            f"notebook with nbclient, kernel start included, on {machine['cores']} cores "
            f"(Python {machine['python']}; the 1-minute load average was "
            f"{min(loads):.1f}–{max(loads):.1f} when each started: other work shared the "
            f"machine); {total:.0f} s for all {len(entries)}.")
    return "\n".join(rows) + "\n\n" + note + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    try:
        paths = [resolve(p) for p in args.notebooks]
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    paths = paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    data = json.loads(DATA.read_text()) if DATA.is_file() and args.notebooks else {}
    notebooks = dict(data.get("notebooks", {}))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    for path in paths:
        entry = measure(path)
        notebooks[path.name] = entry
        print(f"{path.name}: {entry['seconds']:.1f} s", flush=True)
    data = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": _cores(),
            "load_average": round(load, 2),
            "python": platform.python_version(),
        },
        "notebooks": dict(sorted(notebooks.items())),
    }
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(render_table(data), encoding="utf-8")
    print(f"wrote {DATA.relative_to(ROOT)} and {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
