"""bounded() and hammer(): hangs are caught within their bound and nothing is left running."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from demos.harness import HangError, Outcome, bounded, hammer

SLACK_S = 0.5  # the harness promises: a hang is reported within timeout_s + 0.5 s


def test_bounded_returns_the_value_of_a_call_that_finishes():
    outcome = bounded(lambda a, b: a + b, 1.0, 2, b=3)
    assert outcome.status == "ok"
    assert outcome.value == 5
    assert outcome.unwrap() == 5


def test_bounded_reports_an_exception_instead_of_raising_it():
    outcome = bounded(lambda: 1 / 0, 1.0)
    assert outcome.status == "raised"
    assert isinstance(outcome.error, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        outcome.unwrap()


def test_bounded_catches_a_real_deadlock_within_its_bound_and_cleans_up():
    lock = threading.Lock()

    def take_twice() -> None:
        with lock, lock:
            pass

    start = time.perf_counter()
    outcome = bounded(take_twice, 0.3, cancel=lock.release, name="deadlock")
    assert time.perf_counter() - start < 0.3 + SLACK_S + 1.0  # + the grace for cleanup
    assert outcome.status == "hung"
    assert outcome.elapsed_s < 0.3 + SLACK_S
    assert outcome.cleaned_up
    assert outcome.worker.startswith("bounded-deadlock-")
    with pytest.raises(HangError, match=r"^bounded-deadlock-\d+ still running after"):
        outcome.unwrap()


def test_bounded_cancels_a_hung_coroutine_and_every_task_it_started():
    started = []

    async def child() -> None:
        started.append("child")
        await asyncio.sleep(3600)

    async def parent() -> None:
        task = asyncio.create_task(child(), name="child")
        await asyncio.sleep(0)
        await task

    outcome = bounded(parent, 0.2)
    assert outcome.status == "hung"
    assert outcome.elapsed_s < 0.2 + SLACK_S
    assert outcome.cleaned_up
    assert started == ["child"]


def test_bounded_runs_a_coroutine_even_when_the_caller_has_a_running_loop():
    async def answer() -> int:
        await asyncio.sleep(0.01)
        return 42

    async def caller() -> Outcome:
        return bounded(answer, 1.0)  # a Jupyter cell is in exactly this position

    assert asyncio.run(caller()).value == 42


def test_bounded_reports_a_worker_it_could_not_stop_without_blocking_exit():
    release = threading.Event()
    outcome = bounded(release.wait, 0.1, grace_s=0.1, name="stubborn")
    assert outcome.status == "hung"
    assert not outcome.cleaned_up
    stuck = [t for t in threading.enumerate() if t.name == outcome.worker]
    assert stuck and stuck[0].daemon
    release.set()  # let it go so the leak check passes
    stuck[0].join(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout_s": 0}, r"^timeout_s must be > 0, got 0$"),
        ({"timeout_s": -1.5}, r"^timeout_s must be > 0, got -1.5$"),
        ({"timeout_s": 1, "grace_s": -1}, r"^grace_s must be >= 0, got -1$"),
    ],
)
def test_bounded_rejects_bounds_that_are_not_positive(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bounded(lambda: None, **kwargs)


def test_bounded_rejects_a_target_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^target must be callable, got int$"):
        bounded(3, 1.0)


def test_hammer_makes_every_call_and_keeps_every_result_and_exception():
    def call(thread: int, index: int) -> int:
        if index == 2:
            raise ValueError(f"{thread}-{index}")
        return thread * 10 + index

    result = hammer(call, threads=3, calls_per_thread=4, name="t")
    assert len(result.calls) == 12
    assert sorted(result.values) == sorted(t * 10 + i for t in range(3) for i in (0, 1, 3))
    assert sorted(str(e) for e in result.errors) == ["0-2", "1-2", "2-2"]
    assert all(c.end_s >= c.start_s >= 0 for c in result.calls)


def test_hammer_starts_no_call_before_every_thread_is_at_the_start_line():
    lock = threading.Lock()
    finished = [0]
    accounted_for = []  # at each call: alive + done; never < 6 if all had started

    def call(thread: int, index: int) -> None:
        with lock:
            alive = sum(t.name.startswith("line-") and t.is_alive() for t in threading.enumerate())
            accounted_for.append(alive + finished[0])
        with lock:
            finished[0] += 1

    hammer(call, threads=6, calls_per_thread=1, name="line")
    assert min(accounted_for) >= 6  # a done thread may still be exiting: then it counts twice


def test_hammer_raises_hang_error_naming_the_threads_that_outlived_the_bound():
    release = threading.Event()

    def call(thread: int, index: int) -> None:
        if thread == 1:
            release.wait(10)

    message = r"^1 hammer thread\(s\) still running after 0.3s: \['h-1'\]$"
    with pytest.raises(HangError, match=message):
        hammer(call, threads=2, calls_per_thread=1, timeout_s=0.3, name="h")
    release.set()
    for t in threading.enumerate():
        if t.name == "h-1":
            t.join(1.0)


@pytest.mark.parametrize(
    ("threads", "calls", "message"),
    [
        (0, 1, r"^threads must be an int >= 1, got 0$"),
        (2, 0, r"^calls_per_thread must be an int >= 1, got 0$"),
        (2.5, 1, r"^threads must be an int >= 1, got 2.5$"),
        (True, 1, r"^threads must be an int >= 1, got True$"),
    ],
)
def test_hammer_rejects_counts_below_one_or_not_integers(threads, calls, message):
    with pytest.raises(ValueError, match=message):
        hammer(lambda t, i: None, threads, calls)


def test_progress_passes_every_item_through_with_or_without_a_bar(monkeypatch, capsys):
    from demos.harness import progress

    monkeypatch.delenv("DEMOS_NO_PROGRESS", raising=False)
    assert list(progress(range(5), desc="shown")) == [0, 1, 2, 3, 4]
    assert "shown" in capsys.readouterr().err  # a text bar outside Jupyter
    monkeypatch.setenv("DEMOS_NO_PROGRESS", "1")
    items = [1, 2]
    assert progress(items, desc="hidden") is items
