"""The probe against the book's own chapter-7 services (issue 27, item 5).

Both services run as a reader runs them, ``python -m demos serve`` on 127.0.0.1, started by
the probe itself (``--start``), so that readiness is watched from process start; the
no_leaks fixture checks the probe stopped what it started. The fixed service must come out
clean; the broken one must be reported under the chapters its planted pitfalls belong to,
and under no other. One broken-service run is shared by its tests.
"""

from __future__ import annotations

import socket
import sys
import threading

import pytest

from demos.probe import Report, probe

#: Fixed-service runs back to back: each costs 44-47 s under pytest on a loaded 2-core machine,
#: so one fits the ~60 s this file may spend on it (the issue asks for 5; see the report).
FIXED_RUNS = 1

#: What the probe must report on the broken service, and nothing else: readiness that is a
#: constant (ch2), a batcher that waits for a full batch (ch3) and dies of one failing batch
#: (ch3, poison), validation left to the tokenizer (ch5), the scratch buffer on the model
#: (ch4), truncation set per request on the shared tokenizer (ch6).
BROKEN = {("readiness", 2), ("batching", 3), ("bad_input", 5), ("concurrency", 4),
          ("concurrency", 6), ("poison", 3)}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(impl: str, *settings: str, **options: object) -> Report:
    port = _port()
    knobs = " ".join(f"--set {s}" for s in ("intra_op_threads=1", *settings))
    start = f"{sys.executable} -m demos serve --impl {impl} --port {port} {knobs}"
    lines: list[str] = []
    options.setdefault("budget_s", 110.0)
    report = probe(f"http://127.0.0.1:{port}", progress=lines.append, start=start, **options)
    print("\n".join(lines))
    print(report)
    return report


@pytest.mark.parametrize("run", range(FIXED_RUNS))
def test_the_fixed_service_is_clean_run_after_run(run):
    report = _probe("fixed")
    assert report.clean, report
    assert not report.skipped and not report.error, report


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """One probe run against the broken service, shared by the tests below.

    Its batches hold 8 texts (not 32): each of the probe's long requests is padded with its
    companions into one batch, so a smaller batch costs a quarter. Its request gate (the
    place between a request's ``enable_truncation`` and its ``encode_batch`` where a real
    service reads the rest of the body) is closed 150 ms in every 200 ms, as slow clients
    would hold it: requests with different options then meet there by construction, not by
    luck, and the chapter-6 race shows in every run.
    """
    gate = tmp_path_factory.mktemp("gate") / "open"
    stop = threading.Event()

    def slow_bodies() -> None:
        while not stop.is_set():
            gate.touch()
            stop.wait(0.05)
            gate.unlink(missing_ok=True)
            stop.wait(0.15)
        gate.touch()

    flicker = threading.Thread(target=slow_bodies, name="slow-bodies", daemon=True)
    flicker.start()
    try:
        return _probe("broken", "max_batch=8", "drain_s=1", f"request_gate={gate}",
                      "gate_bound_s=5", timeout_s=3.0, budget_s=180.0)  # 50-90 s loaded
    finally:
        stop.set()
        flicker.join(5.0)


def test_the_broken_service_is_reported_under_each_planted_pitfalls_chapter(broken):
    assert {(f.check, f.chapter) for f in broken.findings} == BROKEN, broken
    assert not broken.error, broken


def test_a_lone_request_unanswered_and_a_burst_answered_is_blamed_on_the_batcher(broken):
    """Its batcher waits for a full batch (chapter 3): not on readiness, and the probe goes
    on, carrying each request inside a burst of companions."""
    [batching] = broken.by_check("batching")
    assert "got no answer within 3.0 s" in batching.evidence[0], batching
    assert "answered within" in batching.evidence[1], batching
    assert any(note.startswith("carry mode:") for note in broken.notes), broken.notes
    assert "carry mode" in broken.skipped.get("truncation", ""), broken.skipped


def test_the_tokenizer_race_is_told_from_the_scratch_buffer(broken):
    """A long text answered as if cut the other way: only another request's option does that."""
    [race] = [f for f in broken.by_check("concurrency") if f.chapter == 6]
    assert "came back cut on the" in race.evidence[0], race
