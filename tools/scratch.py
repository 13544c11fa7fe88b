"""A scratch copy of the repository, for tools that must change code without touching it.

``tools/mutants.py`` swaps ``fixed.py`` for ``broken.py`` in a copy; ``tests/test_new_chapter.py``
writes a throwaway chapter into one. The copy holds what the tests and notebooks read
(``src``, ``tests``, ``notebooks``, ``book``, ``tools`` and the top-level files), not the
virtual environment, the built site or caches. Run code in it with :func:`env_for`, which
puts the copy's ``src`` first on ``PYTHONPATH`` (ahead of the editable install's path).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("src", "tests", "notebooks", "book", "tools")
FILES = ("pyproject.toml", "conftest.py", "_toc.yml", "_config.yml", "Makefile",
         "CONTRIBUTING.md", "README.md")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info",
                                ".pytest_cache", "_build")


def copy_repo(dest: Path, *, root: Path = ROOT, folders: tuple[str, ...] = FOLDERS) -> Path:
    """Copy the repository's sources into ``dest`` (created); return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        if (root / folder).is_dir():
            shutil.copytree(root / folder, dest / folder, ignore=IGNORE)
    for name in (*FILES, *(p.name for p in root.glob("requirements*.txt"))):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    return dest


def env_for(copy: Path, **extra: str) -> dict[str, str]:
    """The environment that imports ``demos`` from ``copy`` (progress bars off)."""
    paths = [str(copy / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "DEMOS_NO_PROGRESS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", **extra}
