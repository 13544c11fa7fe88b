"""The probe against real services on 127.0.0.1: a correct one, and one planted fault each.

The target (tests/probe_targets/target.py) is a FastAPI service on uvicorn around the real
all-MiniLM-L6-v2 encoder; ``--fault NAME`` plants exactly one fault. The probe starts it
itself (``--start``), as a reader's CI would, and must stop it: the no_leaks fixture
checks that no process is left. Each fault must be found under the right check and
chapter, and nothing else reported; the correct service must come out clean.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from demos.__main__ import main
from demos.probe import Report, probe
from demos.probe.report import CHECK_NAMES, Finding, shorten
from demos.probe.texts import TEXTS

TARGET = Path(__file__).parent / "probe_targets" / "target.py"
#: The target's token limit: a real option of the service, small so that the truncation
#: checks cost little (the probe's texts stay within 64 tokens).
LIMIT = 64

#: fault -> (check, chapter) the probe must report, and nothing else.
FAULTS = {
    "readiness": ("readiness", 2),
    "bad_input": ("bad_input", 5),
    "precision": ("precision", 1),
    "truncation": ("truncation", 6),
    "concurrency_state": ("concurrency", 4),
    "concurrency_options": ("concurrency", 6),
    "overload": ("overload", 3),
    "poison": ("poison", 3),
    "cancellation": ("cancellation", 3),
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, fault: str | None = None) -> str:
    command = f"{sys.executable} {TARGET} --port {port} --max-seq-length {LIMIT}"
    return command + (f" --fault {fault}" if fault else "")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, encoder) -> Path:
    """Trusted embeddings of the probe's texts, made in-process by the real encoder."""
    path = tmp_path_factory.mktemp("probe") / "reference.json"
    path.write_text(json.dumps({"texts": list(TEXTS),
                                "embeddings": encoder.encode(list(TEXTS)).tolist()}))
    return path


def _probe(fault: str | None, **options: object) -> Report:
    """The Python API, as a pytest fixture in a reader's CI would call it."""
    port = _port()
    lines: list[str] = []
    report = probe(f"http://127.0.0.1:{port}", progress=lines.append,
                   start=_start(port, fault), **options)
    print("\n".join(lines))
    print(report)
    return report


@pytest.mark.parametrize("fault", FAULTS)
def test_the_probe_finds_each_planted_fault_and_nothing_else(fault, reference, tmp_path,
                                                              capsys):
    """Through the CLI, as CI runs it: exit status 1, and the JSON and JUnit files carry
    the one finding the printed report shows."""
    port = _port()
    out_json, out_junit = tmp_path / "probe.json", tmp_path / "probe.xml"
    argv = ["probe", f"http://127.0.0.1:{port}", "--start", _start(port, fault),
            "--json", str(out_json), "--junit", str(out_junit),
            "--timeout-s", "5"]  # the hangs planted here cost 5 s, not the default 10 s
    if fault == "precision":
        argv += ["--reference", str(reference)]
    status = main(argv)
    printed = capsys.readouterr()
    print(printed.out, printed.err)
    findings = json.loads(out_json.read_text())["findings"]
    check, chapter = FAULTS[fault]
    assert [(f["check"], f["chapter"]) for f in findings] == [(check, chapter)], printed.out
    assert status == 1
    assert findings[0]["evidence"] and findings[0]["fix"] and findings[0]["pitfall"]
    assert f"FINDING [{check}] chapter {chapter}" in printed.out
    failures = [(case.get("name"), failure.get("message"))
                for case in ET.parse(out_junit).getroot().iter("testcase")
                for failure in case.findall("failure")]
    assert failures == [(f["check"], f"{f['pitfall']}: {f['summary']}") for f in findings]


def test_readiness_that_stays_200_after_the_batcher_died_is_found_with_its_cause():
    """Two faults: the poison kills the batching loop, and readiness (a flag set once at
    start-up) keeps saying 200 (infinity#609). Both are reported, and nothing else."""
    port = _port()
    report = probe(f"http://127.0.0.1:{port}", progress=lambda line: None, timeout_s=5.0,
                   start=_start(port, "poison") + " --fault readiness_live")
    assert [(f.check, f.chapter) for f in report.findings] == [("poison", 3),
                                                                ("readiness", 2)], report
    assert "readiness still says 200 while requests fail" in report.findings[1].summary
    assert report.skipped == {"cancellation": "the service stopped serving after the poison "
                                              "check"}


def test_the_correct_service_is_clean_through_the_cli_with_json_and_junit(
        reference, tmp_path, capsys):
    port = _port()
    out_json, out_junit = tmp_path / "probe.json", tmp_path / "probe.xml"
    status = main(["probe", f"http://127.0.0.1:{port}", "--start", _start(port),
                   "--reference", str(reference), "--json", str(out_json),
                   "--junit", str(out_junit)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    data = json.loads(out_json.read_text())
    assert data["clean"] and data["findings"] == [] and data["checks_run"] == list(CHECK_NAMES)
    suite = ET.parse(out_junit).getroot()
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(CHECK_NAMES)
    assert "nothing found" in printed.out and "[9/9] cancellation" in printed.err


def test_the_correct_service_is_clean_again_over_the_tei_api(reference):
    report = _probe(None, api="tei", reference=str(reference))
    assert report.clean, report
    assert report.ran == list(CHECK_NAMES) and not report.skipped


def test_nothing_listening_is_exit_status_2_with_a_reason(capsys):
    status = main(["probe", f"http://127.0.0.1:{_port()}", "--budget-s", "5"])
    printed = capsys.readouterr()
    assert status == 2
    assert "could not probe: nothing answers at http://127.0.0.1:" in printed.err


def test_a_server_that_is_not_an_embedding_api_is_exit_status_2(capsys):
    port = _port()
    status = main(["probe", f"http://127.0.0.1:{port}", "--budget-s", "30", "--start",
                   f"{sys.executable} -m http.server {port} --bind 127.0.0.1"])
    printed = capsys.readouterr()
    assert status == 2, printed.out
    assert "could not probe: /v1/embeddings does not serve a valid request" in printed.err


def test_write_texts_writes_the_texts_a_reference_must_embed(tmp_path, capsys):
    path = tmp_path / "texts.json"
    assert main(["probe", "http://127.0.0.1:1", "--write-texts", str(path)]) == 0
    assert json.loads(path.read_text()) == {"texts": list(TEXTS)}


def test_bad_options_are_refused_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["probe", "http://127.0.0.1:1", "--budget-s", "-1"])
    assert "expected a number > 0" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert main(["probe", "http://127.0.0.1:1", "--reference", str(missing)]) == 2
    assert "--reference must be a readable JSON file" in capsys.readouterr().err


def test_json_and_junit_carry_the_same_findings(tmp_path):
    report = Report(url="http://127.0.0.1:1", api="openai", ran=list(CHECK_NAMES),
                    findings=[Finding("poison", "Micro-batching that deadlocks", 3,
                                      "4 requests hung", ("POST -> no response",), "catch it")])
    report.write_json(tmp_path / "r.json")
    report.write_junit(tmp_path / "r.xml")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["exit_status"] == 1 and data["findings"][0]["evidence"] == ["POST -> no response"]
    (case,) = [c for c in ET.parse(tmp_path / "r.xml").getroot().iter("testcase")
               if c.findall("failure")]
    assert case.get("name") == "poison"
    assert "4 requests hung" in case.find("failure").get("message")


def test_control_characters_from_a_service_are_escaped_in_junit_and_text(tmp_path):
    """A coloured traceback (ESC) or a NUL in a 500's body must not make the JUnit file
    ill-formed, nor drive the reader's terminal."""
    body = "\x1b[31mValueError\x1b[0m: max() arg\x00 \ud800"
    report = Report(url="http://127.0.0.1:1", api="openai", ran=list(CHECK_NAMES),
                    error=body, findings=[Finding("bad_input", "The model's input contract", 5,
                                                  body, (shorten(body),), "answer 400")])
    report.write_junit(tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot()  # raises on an ill-formed file
    message = next(suite.iter("failure")).get("message")
    assert "\\x1b[31mValueError\\x1b[0m" in message and "\\x00" in message
    assert "\\ud800" in suite.find("system-err").text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", str(report))


def test_a_timeout_lowered_to_the_budget_is_not_taken_for_a_hang():
    """Context.bound() lowers a timeout to what is left of the budget (a Cut); when that
    fires, the budget ran out: the runner skips the check instead of reporting a hang."""
    import asyncio
    import time

    from demos.probe.checks import Context
    from demos.probe.client import Client, Cut

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", "openai", "m")
        ctx = Context(client=client, deadline=time.monotonic() + 2.0, progress=print)
        assert ctx.bound(0.3) == 0.3 and not isinstance(ctx.bound(0.3), Cut)
        assert isinstance(ctx.bound(10.0), Cut)

        async def both():
            try:
                return (await client.embed(["x"], timeout_s=0.3),
                        await client.embed(["x"], timeout_s=ctx.bound(10.0)))
            finally:
                await client.aclose()
        hang, cut = asyncio.run(both())
    assert hang.ended == cut.ended == "timeout"
    assert not hang.budget_out and cut.budget_out and client.budget_timeouts == 1


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signalled_probe_stops_the_service_it_started_and_writes_its_report(
        sig, status, tmp_path):
    """The --start service runs in its own session: a SIGTERM (CI cancelling a job) or a
    Ctrl-C to the probe must still stop it, and the partial report must be written."""
    port, out_json = _port(), tmp_path / "partial.json"
    silent = f"{sys.executable} -c 'import time; time.sleep(120)'"  # never listens
    probe_cli = subprocess.Popen(
        [sys.executable, "-m", "demos", "probe", f"http://127.0.0.1:{port}", "--start", silent,
         "--json", str(out_json)], stderr=subprocess.PIPE, text=True)
    try:
        line = probe_cli.stderr.readline()  # "probe: started '...' (pid N)"
        service = int(re.search(r"\(pid (\d+)\)", line)[1])
        probe_cli.send_signal(sig)
        assert probe_cli.wait(timeout=30) == status
    finally:
        probe_cli.kill()
        probe_cli.stderr.close()
    with pytest.raises(ProcessLookupError):
        os.kill(service, 0)
    assert json.loads(out_json.read_text())["error"]
