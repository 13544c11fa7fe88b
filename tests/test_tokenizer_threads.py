"""Chapter 6: one tokenizer, many threads.

What a configuration call or a fork does while a thread is inside the tokenizer depends on
the installed ``tokenizers``; the tests expect exactly what :mod:`versions` observed on each
release of the compatibility matrix (0.22.2, 0.23.1 and the pin, 0.23.3).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import types

import pytest
import tokenizers
from tokenizers import Tokenizer

from demos.tokenizer_threads import (
    broken,
    exercises,
    fixed,
    measure,
    per_thread,
    probes,
    scenario,
    versions,
)
from demos.tokenizer_threads.texts import LONG, SHORT

KNOBS = [dict(threads=4, requests=3), dict(threads=8, requests=2), dict(threads=2, requests=5)]
BOUNDS = dict(timeout_s=20.0, barrier_timeout_s=5.0)  # a regression fails in seconds

_BLOCKS = {
    "configure_during_batch": "blocks until the batch ends",
    "configure_with_python_pretokenizer":
        "deadlocks: the call waits for the batch holding the GIL",
    "fork_inside_batch_configure": "the child hangs",
    "fork_inside_batch_encode": "the child finishes",
    "fork_after_parallel_batch": "the child hangs",
    "fork_after_default_batch": "the child finishes",
}
#: What versions.observe() saw on each release, run by hand in scratch venvs.
OBSERVED_ON = {
    (0, 22, 2): {
        "configure_during_batch": "raises RuntimeError: Already borrowed",
        "configure_with_python_pretokenizer":
            "no: the call raises RuntimeError: Already borrowed",
        "fork_inside_batch_configure": "the child raises RuntimeError: Already borrowed",
        "fork_inside_batch_encode": "the child finishes",
        "fork_after_parallel_batch": "the child hangs",
        "fork_after_default_batch": "the child finishes",
    },
    (0, 23, 1): _BLOCKS,
    (0, 23, 3): _BLOCKS,
}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3])


@pytest.fixture(scope="module")
def tokenizer_json() -> str:
    return scenario.shipped_tokenizer_json()


@pytest.fixture(scope="module")
def observed() -> dict[str, str]:
    return versions.observe()


@pytest.fixture(scope="module")
def configure_raises(observed) -> bool:
    return observed["configure_during_batch"].startswith("raises")


def test_versions_observe_what_was_seen_on_this_release(observed):
    installed = _release(tokenizers.__version__)
    known = [r for r in OBSERVED_ON if r <= installed] or [min(OBSERVED_ON)]
    assert observed == OBSERVED_ON[max(known)], tokenizers.__version__
    assert set(observed) == set(versions.PROBES)


@pytest.mark.parametrize("knobs", KNOBS, ids=lambda k: f"{k['threads']}x{k['requests']}")
def test_broken_handler_gives_requests_each_others_options(knobs, configure_raises):
    report = scenario.run(broken, **knobs, **BOUNDS)
    assert report.manifested
    # By construction the last round alone leaves threads - 1 requests with another's options
    # (or, where a configuration call during a batch raises, with an error).
    assert report.metrics["wrong"] + report.metrics["errors"] >= knobs["threads"] - 1
    if not configure_raises:
        assert report.metrics["errors"] == 0, report.metrics["first_error"]


@pytest.mark.parametrize("impl", [fixed, per_thread], ids=["fixed", "per_thread"])
@pytest.mark.parametrize("knobs", [*KNOBS, dict(threads=6, requests=3, barrier=False)],
                         ids=["4x3", "8x2", "2x5", "natural-6x3"])
def test_fixed_handlers_answer_every_request_with_its_own_options(impl, knobs):
    report = scenario.run(impl, **knobs, **BOUNDS)
    assert not report.manifested, report.headline
    assert report.metrics["wrong"] == report.metrics["errors"] == 0


@pytest.mark.parametrize("impl", [fixed, per_thread], ids=["fixed", "per_thread"])
def test_fixed_handlers_match_the_broken_one_on_a_single_thread(impl, tokenizer_json):
    texts = (LONG[0], SHORT[0], LONG[3])
    for max_length, pad in [(8, True), (40, False), (512, True)]:
        want = broken.encode_request(broken.share(Tokenizer.from_str(tokenizer_json)), texts,
                                     max_length=max_length, pad=pad)
        got = impl.encode_request(impl.share(Tokenizer.from_str(tokenizer_json)), texts,
                                  max_length=max_length, pad=pad)
        assert got == want


def test_fixed_share_leaves_the_callers_tokenizer_configured_as_it_was(tokenizer_json):
    original = Tokenizer.from_str(tokenizer_json)
    shared = fixed.share(original)
    assert original.truncation["max_length"] == 128 and original.padding["length"] == 128
    assert shared.truncation is None and shared.padding is None


@pytest.mark.parametrize("max_length", [0, 2, 2.5, True])
def test_fixed_handler_rejects_a_max_length_with_no_room_for_text(max_length, tokenizer_json):
    shared = fixed.share(Tokenizer.from_str(tokenizer_json))
    with pytest.raises(ValueError, match=rf"^max_length must be an int > 2, got {max_length!r}$"):
        fixed.encode_request(shared, ["hello"], max_length=max_length)


def test_fixed_handler_rejects_a_bare_string_and_a_non_bool_pad(tokenizer_json):
    shared = fixed.share(Tokenizer.from_str(tokenizer_json))
    with pytest.raises(TypeError, match=r"^texts must be an iterable of str, got a str$"):
        fixed.encode_request(shared, "hello", max_length=8)
    with pytest.raises(TypeError, match=r"^pad must be a bool, got str$"):
        fixed.encode_request(shared, ["hello"], max_length=8, pad="yes")


def test_fixed_handler_rejects_a_tokenizer_that_was_not_shared_with_share(tokenizer_json):
    with pytest.raises(ValueError, match=r"^tokenizer must not truncate or pad by itself"):
        fixed.encode_request(Tokenizer.from_str(tokenizer_json), ["hello"], max_length=8)


def test_process_pool_rejects_zero_processes_and_a_bound_that_is_not_positive():
    with pytest.raises(ValueError, match=r"^processes must be an int >= 1, got 0$"):
        fixed.encode_in_processes("{}", [["hello"]], processes=0)
    with pytest.raises(ValueError, match=r"^timeout_s must be a number > 0, got 0$"):
        fixed.encode_in_processes("{}", [["hello"]], timeout_s=0)


class _OpensFifo:
    """A chunk whose unpickling in the worker opens a FIFO for reading: it blocks until
    someone opens the write end, which the test never does before the bound expires."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return open, (self.path,)


def test_process_pool_that_outlives_its_bound_raises_and_leaves_no_worker(
        tokenizer_json, tmp_path):
    fifo = str(tmp_path / "never-written")
    os.mkfifo(fifo)
    # The one chunk cannot even reach encode_chunk until the FIFO has a writer: the bound
    # expires by construction, however fast the machine or the workers' start.
    with pytest.raises(TimeoutError, match=r"^chunks not encoded within timeout_s=0.5s$"):
        fixed.encode_in_processes(tokenizer_json, [_OpensFifo(fifo)], processes=1,
                                  timeout_s=0.5)


def test_fixed_pool_starts_its_workers_with_spawn(tokenizer_json, monkeypatch):
    assert fixed.START_METHOD == per_thread.START_METHOD == "spawn"
    assert fixed.START_METHOD in scenario.FORK_SAFE_START_METHODS
    assert broken.START_METHOD not in scenario.FORK_SAFE_START_METHODS
    asked, real = [], multiprocessing.get_context

    def get_context(method=None):
        asked.append(method)
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", get_context)
    out = fixed.encode_in_processes(tokenizer_json, [["hello world"]], processes=1,
                                    timeout_s=60.0)
    assert asked == ["spawn"]
    assert out == [[Tokenizer.from_str(tokenizer_json).encode("hello world").ids]]


def test_scenario_verdict_counts_a_pool_that_forks_its_workers():
    report = scenario.run(fixed, threads=2, requests=1, **BOUNDS)
    assert not report.manifested and report.metrics["start_method"] == "spawn"
    forking = types.SimpleNamespace(NAME="forking", share=fixed.share,
                                    encode_request=fixed.encode_request, START_METHOD="fork")
    report = scenario.run(forking, threads=2, requests=1, **BOUNDS)
    assert report.manifested and report.metrics["wrong"] == report.metrics["errors"] == 0
    assert "process pool starts workers with fork" in report.headline


def test_scenario_rejects_zero_threads_and_a_bound_that_is_not_positive():
    with pytest.raises(ValueError, match=r"^threads must be an int >= 1, got 0$"):
        scenario.run(fixed, threads=0)
    with pytest.raises(ValueError, match=r"^timeout_s must be a finite number > 0 \(seconds\), "
                       r"got -1$"):
        scenario.run(fixed, timeout_s=-1)


def test_configure_call_during_a_batch_never_tears_it(tokenizer_json, configure_raises):
    result = measure.configure_latency(tokenizer_json, 300)
    assert not result["torn"]
    if configure_raises:  # only when the call lands inside the batch: timing decides
        assert result["status"] in ("ok", "raised")
    else:
        assert result["status"] == "ok", result["error"]


def test_a_probe_still_running_at_its_bound_is_killed_with_everything_it_forked(tokenizer_json):
    found = probes.run_probes(["fork_after_batch_parallel", "fork_after_batch_default"],
                              tokenizer_json, timeout_s=2.0)
    assert [r.status for r in found] == ["hung", "ok"]  # every release, by construction
    assert found[1].outcomes == ("child returned",)
    with pytest.raises(ValueError, match=r"^probe must be one of \["):
        probes.run_probes(["nope"], tokenizer_json)


def test_fork_at_an_arbitrary_moment_is_counted_as_a_rate(tokenizer_json, observed):
    hung, trials = probes.fork_anytime_rate(tokenizer_json, trials=3)
    assert trials == 3 and 0 <= hung <= 3  # timing decides how many: a rate, not a verdict
    if observed["fork_inside_batch_configure"] != "the child hangs":
        assert hung == 0  # where the child raises instead, it can never hang
    with pytest.raises(ValueError, match=r"^trials must be an int >= 1, got 0$"):
        probes.fork_anytime_rate(tokenizer_json, trials=0)


def test_broken_process_pool_hangs_and_the_spawned_one_finishes():
    report = scenario.run(broken, threads=1, requests=1, fork=True, fork_timeout_s=4.0)
    assert report.manifested and report.metrics["fork_status"] == "hung"
    report = scenario.run(fixed, threads=2, requests=1, fork=True, **BOUNDS)
    assert not report.manifested and report.metrics["fork_status"] == "ok"


def test_shipped_tokenizer_json_truncates_long_texts_the_encoder_keeps(encoder):
    found = measure.truncation_surprise(encoder)
    assert found["shipped_ids"] == 128 < found["encoder_ids"] <= encoder.max_seq_length
    assert found["cosine"] < 0.99
    assert found["short_positions_shipped"] == 128 * len(SHORT)
    assert found["short_positions_encoder"] < found["short_positions_shipped"]


def test_bench_reports_each_fixs_cost_as_ratios():
    result = scenario.bench(repeats=8)
    assert result["fixed_vs_broken"] > 0 and result["copy_ms"] > 0


# Exercises: the stub (as the notebook gives it) fails its check, the solution passes.

def stub_1(tokenizer, texts, *, max_length, pad=True):
    tokenizer.enable_truncation(max_length=max_length)
    if pad:
        tokenizer.enable_padding()
    else:
        tokenizer.no_padding()
    batch = [text.strip() for text in texts]
    return [e.ids for e in tokenizer.encode_batch(batch)]


def solution_1():
    lock = threading.Lock()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        batch = [text.strip() for text in texts]  # the slow read, outside the lock
        with lock:
            tokenizer.enable_truncation(max_length=max_length)
            if pad:
                tokenizer.enable_padding()
            else:
                tokenizer.no_padding()
            return [e.ids for e in tokenizer.encode_batch(batch)]

    return encode_request


def lock_too_wide():
    lock = threading.Lock()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        with lock:
            return stub_1(tokenizer, texts, max_length=max_length, pad=pad)

    return encode_request


def test_exercise_1_stub_fails_a_lock_around_the_body_fails_the_solution_passes(
        configure_raises):
    verdict = exercises.check_1(stub_1)
    assert not verdict.passed
    # Where a configuration call during a batch raises (0.22.2), the stub's requests raise.
    assert ("raised RuntimeError: Already borrowed" if configure_raises
            else "got another request's options") in verdict.message
    verdict = exercises.check_1(lock_too_wide())
    assert not verdict.passed and "BrokenBarrierError" in verdict.message
    assert exercises.check_1(solution_1()).passed


class StubPool:
    def __init__(self, tokenizer, size):
        self.tokenizer = tokenizer

    @contextlib.contextmanager
    def checkout(self, timeout_s):
        yield self.tokenizer  # everyone gets the one shared tokenizer


def solution_2():
    class TokenizerPool:
        def __init__(self, tokenizer, size):
            self._free = queue.Queue()
            for _ in range(size):
                self._free.put(Tokenizer.from_str(tokenizer.to_str()))

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError(f"no tokenizer free within {timeout_s}s") from None
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return TokenizerPool


class CopyPerCheckout(StubPool):
    @contextlib.contextmanager
    def checkout(self, timeout_s):
        yield Tokenizer.from_str(self.tokenizer.to_str())


def test_exercise_2_stub_fails_an_unbounded_pool_fails_the_solution_passes():
    verdict = exercises.check_2(StubPool)
    assert not verdict.passed
    assert verdict.message == "2 checkouts held at once got 1 tokenizer(s) between them"
    verdict = exercises.check_2(CopyPerCheckout)
    assert not verdict.passed
    assert verdict.message == (
        "a checkout from an empty pool returned a tokenizer instead of raising")
    assert exercises.check_2(solution_2()).passed


def stub_3(tokenizer, texts, *, max_length):
    tokenizer.enable_truncation(max_length=max_length, direction="left")
    return [e.ids for e in tokenizer.encode_batch(list(texts))]


def solution_3():
    def encode_keep_end(tokenizer, texts, *, max_length):
        specials = tokenizer.num_special_tokens_to_add(False)
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for encoding in encodings:
            encoding.truncate(max_length - specials, direction="left")
        return [tokenizer.post_process(encoding).ids for encoding in encodings]

    return encode_keep_end


def test_exercise_3_stub_fails_the_solution_passes():
    verdict = exercises.check_3(stub_3)
    assert not verdict.passed
    assert exercises.check_3(solution_3()).passed
    keeps_the_start = fixed.encode_request
    assert not exercises.check_3(
        lambda tok, texts, *, max_length: keeps_the_start(tok, texts, max_length=max_length,
                                                          pad=False)).passed
