"""python -m demos: discovered chapters, clear errors, conventional exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from demos import catalogue
from demos.__main__ import main


def test_list_names_every_landed_pitfall_or_says_none_has_landed(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    landed = catalogue.pitfalls()
    if landed:
        assert all(p.name in out for p in landed)
    else:
        assert out == "No pitfall chapter has landed yet.\n"


def test_run_of_an_unknown_pitfall_exits_2_and_lists_the_valid_names(capsys):
    assert main(["run", "no-such-pitfall"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown pitfall 'no-such-pitfall'; expected one of: ")


def test_bench_of_an_unknown_target_exits_2(capsys):
    assert main(["bench", "no-such-pitfall"]) == 2


def test_a_missing_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_the_module_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, "-m", "demos", "list"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


@pytest.mark.parametrize("pitfall", [p.name for p in catalogue.pitfalls()])
def test_run_prints_a_json_report_for_each_implementation(pitfall, capsys):
    assert main(["run", pitfall, "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["impl"] for r in reports] == ["broken", "fixed"]
    assert [r["manifested"] for r in reports] == [True, False]


def test_a_knob_without_a_value_is_a_usage_error(capsys):
    landed = catalogue.pitfalls()
    name = landed[0].name if landed else "no-such-pitfall"
    assert main(["run", name, "--set", "threads"]) == 2
    err = capsys.readouterr().err
    assert err in (
        "error: --set expects KNOB=VALUE, got 'threads'\n",
        "error: unknown pitfall 'no-such-pitfall'; expected one of: none has landed yet\n",
    )
