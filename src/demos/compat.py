"""What this installation does, observed: the data behind the book's "What changed when".

The book never looks a behaviour up in a table of versions. Each pitfall package that makes
a version-dependent claim has a ``versions`` module with::

    def observe() -> dict[str, str]:
        '''probe id -> the behaviour seen, in a few words (e.g. "blocks until the batch ends")'''

and ``PROBES: dict[str, str]``, probe id -> the question it answers, in a sentence. Each
probe *runs* the behaviour (in a child process under a timeout where it could hang) and
reports what happened. :func:`observe_all` collects every probe with the versions of the
libraries the book is about; ``python -m demos compat --out FILE`` writes it as JSON, which
the compatibility matrix (``noxfile.py``) does once per session and ``book/compat.md``
renders into one table.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from demos import catalogue

__all__ = [
    "LIBRARIES",
    "Change",
    "changes",
    "label",
    "load",
    "observe_all",
    "probe_code_hash",
    "versions",
    "write",
]

#: The libraries whose versions the book's claims depend on.
LIBRARIES = ("numpy", "onnx", "onnxruntime", "tokenizers")


def versions() -> dict[str, str]:
    """Python and each library's installed version (``"absent"`` when not installed)."""
    found = {"python": platform.python_version(),
             "python_build": "free-threaded" if _free_threaded() else "GIL"}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _free_threaded() -> bool:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return is_gil_enabled is not None and not is_gil_enabled()


def observe_all() -> dict[str, Any]:
    """``{"versions": …, "probes": {pitfall: {probe: {"question": …, "observed": …}}}}``."""
    probes: dict[str, dict[str, dict[str, str]]] = {}
    for pitfall in catalogue.pitfalls():
        module_name = f"demos.{pitfall.name}.versions"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        seen = module.observe()
        probes[pitfall.name] = {
            probe: {"question": module.PROBES[probe], "observed": seen[probe]}
            for probe in module.PROBES
        }
    return {"versions": versions(), "probes": probes}


def probe_code_hash() -> str:
    """sha256 of the code that produces the observations: this module and every versions.py.

    Stored in each data file, so a test can tell a file written by older probes.
    """
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in [Path(__file__), *sorted(here.glob("*/versions.py"))]:
        name = path.relative_to(here).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def write(path: str | Path, *, session: str = "") -> dict[str, Any]:
    """Observe everything and write it as JSON to ``path`` (folders created)."""
    data = {"session": session, "probe_code": probe_code_hash(), **observe_all()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data


def load(folder: str | Path) -> list[dict[str, Any]]:
    """Every session's data file in ``folder``, the pinned floor session first."""
    files = sorted(Path(folder).glob("*.json"))
    data = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return sorted(data, key=lambda d: (not d["session"].startswith("python-"), d["session"]))


def label(data: dict[str, Any]) -> str:
    """What a session changed, for a person: ``"tokenizers 0.22.2"``, ``"Python 3.12.1"``."""
    session = data["session"]
    name, _, _ = session.partition("-")
    if name in LIBRARIES:
        return f"{name} {data['versions'][name]}"
    return f"Python {data['versions']['python']}"


@dataclass(frozen=True)
class Change:
    """One probe across the matrix: each behaviour seen, with the sessions that saw it."""

    pitfall: str
    probe: str
    question: str
    seen: tuple[tuple[str, tuple[str, ...]], ...]  # (observed, labels of sessions)

    @property
    def changed(self) -> bool:
        return len(self.seen) > 1


def changes(matrix: list[dict[str, Any]]) -> list[Change]:
    """Group each probe's observations by behaviour, in the matrix's session order."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    questions: dict[tuple[str, str], str] = {}
    for data in matrix:
        for pitfall, probes in data["probes"].items():
            for probe, result in probes.items():
                key = (pitfall, probe)
                questions[key] = result["question"]
                found.setdefault(key, {}).setdefault(result["observed"], []).append(label(data))
    return [
        Change(pitfall, probe, questions[(pitfall, probe)],
               tuple((seen, tuple(dict.fromkeys(labels))) for seen, labels in by.items()))
        for (pitfall, probe), by in found.items()
    ]
