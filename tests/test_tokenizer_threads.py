"""Chapter 6: one tokenizer, many threads (tokenizers behaviour depends on its version)."""

from __future__ import annotations

import pytest
import tokenizers
from tokenizers import Tokenizer

from demos.tokenizer_threads import broken, fixed, measure, per_thread, probes, scenario
from demos.tokenizer_threads.texts import LONG, SHORT

RWLOCK = measure.rwlock_version()  # tokenizers >= 0.23.1: configure blocks instead of raising
KNOBS = [dict(threads=4, requests=3), dict(threads=8, requests=2), dict(threads=2, requests=5)]


@pytest.fixture(scope="module")
def tokenizer_json() -> str:
    return scenario.shipped_tokenizer_json()


@pytest.mark.parametrize("knobs", KNOBS, ids=lambda k: f"{k['threads']}x{k['requests']}")
def test_broken_handler_gives_requests_each_others_options(knobs):
    report = scenario.run(broken, **knobs)
    assert report.manifested
    # By construction the last round alone leaves threads - 1 requests with another's options.
    assert report.metrics["wrong"] + report.metrics["errors"] >= knobs["threads"] - 1
    if RWLOCK:
        assert report.metrics["errors"] == 0, report.metrics["first_error"]


@pytest.mark.parametrize("impl", [fixed, per_thread], ids=["fixed", "per_thread"])
@pytest.mark.parametrize("knobs", [*KNOBS, dict(threads=6, requests=3, barrier=False)],
                         ids=["4x3", "8x2", "2x5", "natural-6x3"])
def test_fixed_handlers_answer_every_request_with_its_own_options(impl, knobs):
    report = scenario.run(impl, **knobs)
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


def test_process_pool_rejects_zero_processes():
    with pytest.raises(ValueError, match=r"^processes must be an int >= 1, got 0$"):
        fixed.encode_in_processes("{}", [["hello"]], processes=0)


def test_process_pool_that_outlives_its_bound_raises_and_leaves_no_worker(tokenizer_json):
    # Spawning a fresh interpreter takes far longer than 1 ms, so the bound always expires.
    with pytest.raises(TimeoutError, match=r"^chunks not encoded within timeout_s=0.001s$"):
        fixed.encode_in_processes(tokenizer_json, [["hello"]] * 4, timeout_s=0.001)


def test_scenario_rejects_zero_threads():
    with pytest.raises(ValueError, match=r"^threads must be an int >= 1, got 0$"):
        scenario.run(fixed, threads=0)


def test_configure_call_during_a_batch_blocks_or_raises_as_the_version_says(tokenizer_json):
    result = measure.configure_latency(tokenizer_json, 1500)
    if RWLOCK:  # >= 0.23.1: no error; the batch is never torn; the call waits for the batch
        assert result["status"] == "ok" and not result["torn"]
        if result["call_s"] < result["batch_end_s"]:  # it was made while the batch ran
            assert result["return_s"] >= result["call_s"] + 0.5 * (
                result["batch_end_s"] - result["call_s"])
    else:  # <= 0.23.0: huggingface/tokenizers#537
        assert result["status"] == "raised" and "Already borrowed" in result["error"]


def test_hanging_cases_run_in_child_processes_and_are_killed_at_the_bound(tokenizer_json):
    names = ["fork_after_batch_parallel", "fork_after_batch_default",
             "fork_during_batch_configure", "python_pretokenizer"]
    results = {r.name: r for r in probes.run_probes(names, tokenizer_json, timeout_s=6.0)}
    assert results["fork_after_batch_parallel"].hung  # every version: rayon's threads are gone
    assert results["fork_after_batch_default"].status == "ok"  # parallelism off in the child
    if RWLOCK:  # the lock a vanished thread held is never released; the GIL-holding waiter
        assert results["fork_during_batch_configure"].hung
        assert results["python_pretokenizer"].hung
    else:
        assert "Already borrowed" in results["python_pretokenizer"].output


def test_broken_process_pool_hangs_and_the_spawned_one_finishes():
    assert scenario.run(broken, threads=1, requests=1, fork=True).metrics["fork_status"] == "hung"
    report = scenario.run(fixed, threads=2, requests=1, fork=True)
    assert not report.manifested and report.metrics["fork_status"] == "ok"


def test_installed_version_is_read_from_the_package():
    assert measure.rwlock_version(tokenizers.__version__) == RWLOCK
    assert not measure.rwlock_version("0.23.0") and measure.rwlock_version("0.23.1")


def test_shipped_tokenizer_json_truncates_long_texts_the_encoder_keeps(encoder):
    found = measure.truncation_surprise(encoder)
    assert found["shipped_ids"] == 128 < found["encoder_ids"] <= encoder.max_seq_length
    assert found["cosine"] < 0.99
    assert found["short_positions_shipped"] == 128 * len(SHORT)
    assert found["short_positions_encoder"] < found["short_positions_shipped"]


def test_bench_reports_each_fixs_cost_as_ratios():
    result = scenario.bench(repeats=8)
    assert result["fixed_vs_broken"] > 0 and result["copy_ms"] > 0
