"""Chapter 4: mutable state inside the model wrapper."""

from __future__ import annotations

import sys
import sysconfig
import threading

import numpy as np
import pytest

from demos import catalogue
from demos.harness import hammer
from demos.models import tiny_encoder
from demos.shared_state import broken, counters, fixed, scenario, variants
from demos.shared_state.trace import Span, TracedSession, overlap


@pytest.fixture(scope="module")
def tiny():
    return tiny_encoder()


@pytest.mark.parametrize(("threads", "batch"), [(2, 4), (3, 2), (4, 3)])
def test_broken_model_serves_other_requests_and_loses_counts_when_runs_meet(tiny, threads, batch):
    m = scenario.measure(broken, threads=threads, calls=5, batch=batch, encoder=tiny)
    assert m.rendezvous == "met"
    # Every thread fills the scratch buffer before any run reads it: only the last writer
    # can be right, and every thread read the same statistics before any wrote them back.
    assert m.wrong >= (threads - 1) * 5
    assert m.lost_counts >= (threads - 1) * 5
    assert scenario.run(broken, threads=threads, calls=5, batch=batch, encoder=tiny).manifested


@pytest.mark.parametrize("rendezvous", [True, False], ids=["rendezvous", "natural"])
@pytest.mark.parametrize(("threads", "batch"), [(4, 4), (2, 1)])
def test_fixed_model_matches_the_single_threaded_reference_under_threads(
        tiny, threads, batch, rendezvous):
    m = scenario.measure(fixed, threads=threads, calls=30, batch=batch, encoder=tiny,
                         rendezvous=rendezvous)
    assert (m.wrong, m.failed, m.lost_counts) == (0, 0, 0)
    if rendezvous:  # proof that the runs really were in flight together
        assert (m.rendezvous, m.max_in_flight) == ("met", threads)
    report = scenario.run(fixed, threads=threads, calls=10, batch=batch, encoder=tiny,
                          rendezvous=rendezvous)
    assert not report.manifested, report.headline


def test_fixed_stats_count_every_call_and_text_exactly(tiny):
    model = fixed.Model(tiny)
    texts = scenario.requests(4, 50, 3)
    result = hammer(lambda t, i: model.predict(texts[t][i]), 4, 50, timeout_s=60)
    assert not result.errors
    stats = model.stats()
    assert (stats.calls, stats.texts) == (200, 600)
    assert stats.model_s > 0


@pytest.mark.parametrize("threads", [2, 3])
def test_locked_variant_is_right_but_never_lets_two_runs_overlap(tiny, threads):
    m = scenario.measure(variants.IMPLS["locked"], threads=threads, calls=4, encoder=tiny,
                         rendezvous_timeout_s=0.5)
    assert (m.wrong, m.failed, m.lost_counts) == (0, 0, 0)
    assert (m.rendezvous, m.max_in_flight, m.overlap) == ("timed out", 1, 0.0)
    assert m.serialised


def test_shared_output_buffer_aliases_results_even_in_one_thread(tiny):
    model = variants.SharedOutput(tiny)
    a = model.predict(["the cat sat on the mat"])
    first = a.copy()
    b = model.predict(["a storm is coming over the river"])
    assert np.shares_memory(a, b)
    assert np.array_equal(a, b) and not np.allclose(a, first)
    assert scenario.run(variants.IMPLS["shared output"], threads=1, calls=4,
                        encoder=tiny).manifested


@pytest.mark.parametrize("threads", [2, 4])
def test_last_input_variant_pools_with_another_requests_mask(tiny, threads):
    m = scenario.measure(variants.IMPLS["last input"], threads=threads, calls=5, encoder=tiny)
    assert m.rendezvous == "met"
    assert m.wrong + m.failed >= 5  # thread 0 and thread 1 always differ in padding


def test_real_encoder_shows_the_same_verdicts(encoder):
    assert scenario.run(broken, threads=2, calls=3, encoder=encoder).manifested
    assert not scenario.run(fixed, threads=2, calls=3, encoder=encoder).manifested


def test_read_call_write_loses_one_update_per_round_when_threads_meet_between():
    meet = threading.Barrier(2)
    result = counters.count("read–call–write", threads=2, increments=300,
                            call=lambda: meet.wait(10))
    assert result.lost == 300


@pytest.mark.parametrize("pattern", ["itertools.count", "lock", "per-thread"])
def test_correct_counter_patterns_lose_nothing(pattern):
    result = counters.count(pattern, threads=4, increments=20_000)
    assert (result.expected, result.counted) == (80_000, 80_000)


def test_plus_equals_counter_loses_nothing_on_this_interpreter_by_luck_not_promise():
    result = counters.count("+=", threads=4, increments=50_000)
    gil = not sysconfig.get_config_var("Py_GIL_DISABLED")
    if gil and sys.version_info >= (3, 10):
        # 3.10+ only switches threads at calls and backward jumps: load-add-store of an
        # attribute is never split. An implementation detail, not a guarantee.
        assert result.lost == 0
    else:  # 3.9 and earlier, or free-threaded: updates may be lost, never invented
        assert 0 <= result.lost < result.expected


def test_overlap_is_the_fraction_of_time_with_two_or_more_runs_in_flight():
    spans = [Span("a", 0.0, 4.0), Span("b", 1.0, 3.0), Span("c", 3.0, 5.0)]
    assert overlap(spans, 0.0, 10.0) == pytest.approx(0.3)  # [1, 3] and [3, 4]
    assert overlap([Span("a", 0.0, 1.0), Span("b", 1.0, 2.0)], 0.0, 2.0) == 0.0


def test_fixed_model_rejects_a_max_batch_of_zero(tiny):
    with pytest.raises(ValueError, match=r"^max_batch must be an int >= 1, got 0$"):
        fixed.Model(tiny, max_batch=0)


def test_fixed_model_rejects_more_texts_than_max_batch(tiny):
    with pytest.raises(ValueError, match=r"^texts must hold at most max_batch=2 texts, got 3$"):
        fixed.Model(tiny, max_batch=2).predict(["a", "b", "c"])


def test_fixed_model_rejects_a_bare_string(tiny):
    with pytest.raises(TypeError, match=r"^texts must be a list of str, got a bare str"):
        fixed.Model(tiny).predict("one text")


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("threads", 0, r"^threads must be an int >= 1, got 0$"),
    ("calls", 1.5, r"^calls must be an int >= 1, got 1\.5$"),
    ("batch", 33, r"^batch must be <= 32 \(the wrappers' max_batch\), got 33$"),
])
def test_scenario_rejects_bad_knobs(tiny, knob, value, message):
    with pytest.raises(ValueError, match=message):
        scenario.measure(fixed, encoder=tiny, **{knob: value})


def test_counters_reject_an_unknown_pattern_and_a_zero_count():
    with pytest.raises(ValueError, match=r"^pattern must be one of .*, got 'atomic'$"):
        counters.count("atomic")
    with pytest.raises(ValueError, match=r"^increments must be an int >= 1, got 0$"):
        counters.count("lock", increments=0)


def test_traced_session_rejects_a_non_positive_timeout(tiny):
    with pytest.raises(ValueError, match=r"^rendezvous_timeout_s must be > 0, got 0$"):
        TracedSession(tiny.session, None, 0)


def test_catalogue_finds_the_chapter():
    pitfall = catalogue.find("shared_state")
    assert (pitfall.chapter, pitfall.title) == (4, "Mutable state inside the model")
    assert broken.__all__ == fixed.__all__


def test_every_scenario_word_is_one_word_piece_so_batches_pad_to_one_shape(tiny):
    from demos.shared_state.workload import WORDS

    assert all(len(tiny.tokenizer.encode(w).ids) == 3 for w in WORDS)  # [CLS] w [SEP]
    shapes = {tiny.feeds(b)["input_ids"].shape for t in scenario.requests(3, 4, 4) for b in t}
    assert shapes == {(4, 12)}
