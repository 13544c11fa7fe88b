"""The offline install (`make wheelhouse`, book/workshop.md "Install, offline included").

The slow test is the proof: a fresh venv installs everything from wheelhouse/ with
--no-index, then `python -m demos doctor` passes in it (tools/check_wheelhouse.sh). It needs
a wheelhouse, which needs the network once: `make wheelhouse` (about half a minute with a
warm pip cache, 300 MB).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from book_layout import ROOT

sys.path.insert(0, str(ROOT / "tools"))
try:
    import wheelhouse
finally:
    sys.path.pop(0)

WHEELHOUSE = Path(os.environ.get("DEMOS_WHEELHOUSE", ROOT / "wheelhouse"))
INSTALL = "pip install --no-index --find-links wheelhouse"


def test_the_download_list_is_every_pin_less_the_editable_install(tmp_path):
    (tmp_path / "runtime.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "requirements.txt").write_text(
        "# comment\n-r runtime.txt\npytest==9.2.0  # tests\n\n-e .\n")
    assert wheelhouse.pinned_requirements(tmp_path / "requirements.txt") == [
        f"-r {tmp_path / 'runtime.txt'}", "pytest==9.2.0  # tests"]


def test_the_real_requirements_are_all_exact_pins():
    lines = wheelhouse.pinned_requirements(ROOT / "requirements.txt")
    assert lines and all(line.startswith("-r ") or "==" in line for line in lines), lines


def test_readme_and_guide_say_how_to_install_from_the_wheelhouse():
    for page in ("README.md", "book/workshop.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "make wheelhouse" in text and INSTALL in text, page


@pytest.mark.slow
def test_a_fresh_venv_installs_from_the_wheelhouse_offline_and_the_doctor_passes():
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.skip(f"no wheelhouse at {WHEELHOUSE.name}/: run `make wheelhouse` first")
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "check_wheelhouse.sh"), str(WHEELHOUSE)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        # The interpreter this venv was made from: the fresh venv gets the same Python.
        env={**os.environ, "PYTHON": getattr(sys, "_base_executable", "python3")},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "with --no-index in" in result.stdout
    assert result.stdout.rstrip().splitlines()[-2].endswith("— ready")


def test_the_default_wheelhouse_serves_every_python_the_readme_names():
    """The matrix runs the offline-install test on each of noxfile.py's PYTHONS, from the one
    wheelhouse `.ci/run` made: it needs wheels for each, not only for the Python that ran it."""
    pythons = wheelhouse.supported_pythons()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(version in readme for version in pythons), pythons
    plans = wheelhouse.targets(None, pythons)
    assert plans[0] == []  # this interpreter as it is
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    others = {plan[plan.index("--python-version") + 1] for plan in plans[1:]}
    assert others == set(pythons) - {running}
    assert all("--only-binary=:all:" in plan for plan in plans[1:])


def test_another_platform_takes_wheels_only_for_the_named_pythons():
    assert wheelhouse.targets("win_amd64", ["3.12"]) == [
        ["--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.12"]]
    assert wheelhouse.targets("win_amd64", []) == [
        ["--only-binary=:all:", "--platform", "win_amd64"]]
