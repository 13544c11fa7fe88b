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

import importlib
import importlib.util
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from demos import catalogue

__all__ = ["LIBRARIES", "observe_all", "versions", "write"]

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


def write(path: str | Path, *, session: str = "") -> dict[str, Any]:
    """Observe everything and write it as JSON to ``path`` (folders created)."""
    data = {"session": session, **observe_all()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data
