"""Reading the compatibility matrix's records (``book/data/compat``) from a page.

A stored output that depends on the Python version would differ on every Python but the one
that wrote it. So a page shows what the reader's own Python does in a cell that is not
compared, and beside it what each Python session of the matrix recorded: that line is the
same on every Python, and still says what each version does. Kept apart from
:mod:`demos.compat`, whose source is part of the probes' hash (a change here does not make
the records stale).
"""

from __future__ import annotations

from pathlib import Path

from demos.compat import label, load

__all__ = ["data_folder", "recorded"]


def data_folder() -> Path | None:
    """The matrix's records, wherever the book's code runs from.

    A checkout (the package installed from it, or a notebook run from its ``notebooks/``
    folder: looked for from the working directory up), or the clone that Colab's set-up cell
    (``book/_colab_setup.py``) makes in ``/content/book``. ``None`` when none has the files.
    """
    cwd = Path.cwd()
    candidates = [Path(__file__).resolve().parents[2] / "book" / "data" / "compat",
                  *(base / "book" / "data" / "compat" for base in (cwd, *cwd.parents)),
                  Path("/content/book/book/data/compat")]
    return next((c for c in candidates if any(c.glob("python-*.json"))), None)


def _python_key(data: dict) -> tuple[int, ...]:
    return tuple(int(part) for part in data["versions"]["python"].split(".")[:3])


def recorded(pitfall: str, probe: str, folder: str | Path | None = None) -> list[tuple[str, str]]:
    """What each Python session of the matrix observed for one probe, oldest Python first:
    ``[("Python 3.11.7", "getter runs once: locked"), …]``."""
    found = Path(folder) if folder is not None else data_folder()
    if found is None:
        raise FileNotFoundError("the compatibility matrix's records (book/data/compat/"
                                "python-*.json) were not found: run from a checkout of the "
                                "book's repository")
    sessions = sorted((d for d in load(found) if d["session"].startswith("python-")),
                      key=_python_key)
    if not sessions:
        raise FileNotFoundError(f"no python-*.json record in {found}")
    return [(label(d), d["probes"][pitfall][probe]["observed"]) for d in sessions]
