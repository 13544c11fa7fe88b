"""The probe against the book's own chapter-7 services (issue 27, item 5).

Both services run as a reader runs them, ``python -m demos serve`` on 127.0.0.1, started by
the probe itself (``--start``), so that readiness is watched from process start; the
no_leaks fixture checks the probe stopped what it started. The fixed service must come out
clean run after run; the broken one must be reported under the chapters its planted
pitfalls belong to, and under no other.
"""

from __future__ import annotations

import socket
import sys

import pytest

from demos.probe import Report, probe

#: Fixed-service runs back to back: each costs 44-47 s under pytest on a loaded 2-core machine,
#: so one fits the ~60 s this file may spend on it (the issue asks for 5; see the report).
FIXED_RUNS = 1


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(impl: str, *settings: str, **options: object) -> Report:
    port = _port()
    knobs = " ".join(f"--set {s}" for s in ("intra_op_threads=1", *settings))
    start = f"{sys.executable} -m demos serve --impl {impl} --port {port} {knobs}"
    lines: list[str] = []
    report = probe(f"http://127.0.0.1:{port}", progress=lines.append, start=start,
                   budget_s=110.0, **options)
    print("\n".join(lines))
    print(report)
    return report


@pytest.mark.parametrize("run", range(FIXED_RUNS))
def test_the_fixed_service_is_clean_run_after_run(run):
    report = _probe("fixed")
    assert report.clean, report
    assert not report.skipped and not report.error, report


def test_the_broken_service_with_its_default_batch_serves_no_lone_request_and_says_ready():
    """Its batcher waits for a full batch (chapter 3): a lone request is never answered, while
    readiness, a constant, says 200. The probe can see only that, and says so."""
    report = _probe("broken", timeout_s=5.0)
    assert [(f.check, f.chapter) for f in report.findings] == [("readiness", 2)], report
    assert "does not serve a valid request" in report.error, report
