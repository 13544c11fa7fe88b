"""Chapter 4: mutable state inside the model wrapper."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import sysconfig
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from demos import catalogue
from demos.harness import hammer
from demos.models import tiny_encoder
from demos.shared_state import (
    broken,
    counters,
    exercises,
    fixed,
    oversubscription,
    scenario,
    variants,
)
from demos.shared_state.trace import Span, TracedSession, overlap

#: Short explicit bounds: a regression fails in seconds, not after the 120 s default.
BOUNDS = {"timeout_s": 10.0, "rendezvous_timeout_s": 5.0}


@pytest.fixture(scope="module")
def tiny():
    return tiny_encoder()


@pytest.mark.parametrize(("threads", "batch"), [(2, 4), (3, 2), (4, 3)])
def test_broken_model_serves_other_requests_and_loses_counts_when_runs_meet(tiny, threads, batch):
    m = scenario.measure(broken, threads=threads, calls=5, batch=batch, encoder=tiny, **BOUNDS)
    assert m.rendezvous == "met"
    # Every thread fills the scratch buffer before any run reads it: only the last writer
    # can be right, and every thread read the same statistics before any wrote them back.
    assert m.wrong >= (threads - 1) * 5
    assert m.lost_counts >= (threads - 1) * 5
    assert scenario.run(broken, threads=threads, calls=5, batch=batch, encoder=tiny,
                        **BOUNDS).manifested


@pytest.mark.parametrize("rendezvous", [True, False], ids=["rendezvous", "natural"])
@pytest.mark.parametrize(("threads", "batch"), [(4, 4), (2, 1)])
def test_fixed_model_matches_the_single_threaded_reference_under_threads(
        tiny, threads, batch, rendezvous):
    m = scenario.measure(fixed, threads=threads, calls=30, batch=batch, encoder=tiny,
                         rendezvous=rendezvous, **BOUNDS)
    assert (m.wrong, m.failed, m.lost_counts) == (0, 0, 0)
    if rendezvous:  # proof that the runs really were in flight together
        assert (m.rendezvous, m.max_in_flight) == ("met", threads)
    report = scenario.run(fixed, threads=threads, calls=10, batch=batch, encoder=tiny,
                          rendezvous=rendezvous, **BOUNDS)
    assert not report.manifested, report.headline


def test_fixed_stats_count_every_call_and_text_exactly(tiny):
    model = fixed.Model(tiny)
    texts = scenario.requests(4, 50, 3)
    result = hammer(lambda t, i: model.predict(texts[t][i]), 4, 50, timeout_s=10)
    assert not result.errors
    stats = model.stats()
    assert (stats.calls, stats.texts) == (200, 600)
    assert stats.model_s > 0


@pytest.mark.parametrize("threads", [2, 3])
def test_locked_variant_is_right_but_never_lets_two_runs_overlap(tiny, threads):
    m = scenario.measure(variants.IMPLS["locked"], threads=threads, calls=4, encoder=tiny,
                         rendezvous_timeout_s=0.5, timeout_s=10)
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
                        encoder=tiny, **BOUNDS).manifested


@pytest.mark.parametrize("threads", [2, 4])
def test_last_input_variant_pools_with_another_requests_mask(tiny, threads):
    m = scenario.measure(variants.IMPLS["last input"], threads=threads, calls=5, encoder=tiny,
                         **BOUNDS)
    assert m.rendezvous == "met"
    assert m.wrong + m.failed >= 5  # thread 0 and thread 1 always differ in padding


def test_real_encoder_shows_the_same_verdicts(encoder):
    assert scenario.run(broken, threads=2, calls=3, encoder=encoder, **BOUNDS).manifested
    assert not scenario.run(fixed, threads=2, calls=3, encoder=encoder, **BOUNDS).manifested


def test_read_call_write_loses_one_update_per_round_when_threads_meet_between():
    meet = threading.Barrier(2)
    result = counters.count("read–call–write", threads=2, increments=300,
                            call=lambda: meet.wait(5), timeout_s=10)
    assert result.lost == 300


@pytest.mark.parametrize("pattern", ["itertools.count", "lock", "per-thread"])
def test_correct_counter_patterns_lose_nothing(pattern):
    result = counters.count(pattern, threads=4, increments=20_000, timeout_s=10)
    assert (result.expected, result.counted) == (80_000, 80_000)


def test_plus_equals_counter_loses_nothing_on_this_interpreter_by_luck_not_promise():
    result = counters.count("+=", threads=4, increments=50_000, timeout_s=10)
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
    ("batch", 33, r"^batch must be an int from 1 to 32, got 33$"),
    ("timeout_s", 0, r"^timeout_s must be a finite number > 0 \(seconds\), got 0$"),
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


# --- The stats lock, seen by a test (the mutation `with self._stats_lock:` -> `if True:`) ---


def _updates_meet_between_read_and_write(monkeypatch, module, threads: int) -> None:
    """Make every stats update in ``module.Model.predict`` wait for the other threads' updates.

    ``Stats(...)`` is called after predict has read the old snapshot and before it stores the
    new one, so a hook there holds a thread inside the read-modify-write. Without a lock the
    other threads' updates arrive too and all of them build on the same old snapshot, every
    round. With a lock they cannot get in: the first wait times out once (2 s), the barrier is
    broken, and every later update goes straight through.
    """
    meet = threading.Barrier(threads)
    real = module.Stats

    def stats_between_read_and_write(*fields):
        if fields:  # predict's update, not the Stats() of __init__
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(2.0)
        return real(*fields)

    monkeypatch.setattr(module, "Stats", stats_between_read_and_write)


def _serve_with_runs_meeting(module, tiny, threads: int, calls: int):
    """``threads × calls`` predicts whose model runs all meet in session.run, round by round."""
    session = TracedSession(tiny.session, threading.Barrier(threads), 5.0)
    model = module.Model(dataclasses.replace(tiny, session=session))
    texts = scenario.requests(threads, calls, 2)
    result = hammer(lambda t, i: model.predict(texts[t][i]), threads, calls, timeout_s=20)
    assert not result.errors, result.errors[0]
    assert session.rendezvous == "met"
    return model.stats()


@pytest.mark.parametrize("threads", [2, 3])
def test_fixed_stats_count_every_call_when_updates_meet_between_read_and_write(
        tiny, monkeypatch, threads):
    _updates_meet_between_read_and_write(monkeypatch, fixed, threads)
    stats = _serve_with_runs_meeting(fixed, tiny, threads, calls=4)
    assert (stats.calls, stats.texts) == (threads * 4, threads * 4 * 2)


def test_the_meeting_hook_makes_an_unlocked_update_lose_a_count_per_thread_per_round(
        tiny, monkeypatch):
    # The same construction on the wrapper without a stats lock: proof that the hook above
    # really holds the race open (every round, all threads build on one old snapshot).
    _updates_meet_between_read_and_write(monkeypatch, broken, 3)
    stats = _serve_with_runs_meeting(broken, tiny, 3, calls=4)
    assert stats.calls == 4  # 12 calls made, one counted per round


# --- Exercises: the stub fails its check, the solution passes ---


class _Stub41:
    def __init__(self, encoder, max_batch=32):
        self.encoder, self.session = encoder, encoder.session
        self.calls, self.total_s = 0, 0.0

    def predict(self, texts):
        feeds = self.encoder.feeds(texts)
        calls, total_s = self.calls, self.total_s
        start = time.perf_counter()
        (out,) = self.session.run(["sentence_embedding"], feeds)
        self.calls, self.total_s = calls + 1, total_s + time.perf_counter() - start
        return out

    def stats(self):
        return SimpleNamespace(calls=self.calls, mean_s=self.total_s / max(self.calls, 1))


class _Solution41(_Stub41):
    def __init__(self, encoder, max_batch=32):
        super().__init__(encoder, max_batch)
        self._lock = threading.Lock()

    def predict(self, texts):
        feeds = self.encoder.feeds(texts)
        start = time.perf_counter()
        (out,) = self.session.run(["sentence_embedding"], feeds)
        elapsed = time.perf_counter() - start
        with self._lock:
            self.calls += 1
            self.total_s += elapsed
        return out

    def stats(self):
        with self._lock:
            return SimpleNamespace(calls=self.calls, mean_s=self.total_s / max(self.calls, 1))


class _TotalNotMean41(_Solution41):
    def stats(self):
        with self._lock:
            return SimpleNamespace(calls=self.calls, mean_s=self.total_s)


def test_exercise_1_stub_fails_solution_passes_and_a_wrong_mean_fails(tiny):
    stub = exercises.check_1(_Stub41, encoder=tiny)
    assert not stub.passed
    assert stub.message.endswith("stats().calls counted fewer calls than were made")
    assert "two threads read calls and total_s" in stub.message
    assert exercises.check_1(_Solution41, encoder=tiny).passed
    wrong_mean = exercises.check_1(_TotalNotMean41, encoder=tiny)
    assert wrong_mean.message.startswith("stats().mean_s is not the mean model time per call")


class _Stub42:
    def __init__(self):
        self._local = threading.local()

    def record(self, texts, seconds):
        cell = getattr(self._local, "cell", None)
        if cell is None:
            cell = self._local.cell = [0, 0, 0.0]
        cell[0] += 1
        cell[1] += texts
        cell[2] += seconds

    def snapshot(self):
        cell = getattr(self._local, "cell", [0, 0, 0.0])
        return SimpleNamespace(calls=cell[0], texts=cell[1], model_s=cell[2])


class _Solution42(_Stub42):
    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._cells = []

    def record(self, texts, seconds):
        cell = getattr(self._local, "cell", None)
        if cell is None:
            cell = self._local.cell = [0, 0, 0.0]
            with self._lock:
                self._cells.append(cell)
        cell[0] += 1
        cell[1] += texts
        cell[2] += seconds

    def snapshot(self):
        with self._lock:
            cells = [tuple(c) for c in self._cells]
        return SimpleNamespace(calls=sum(c[0] for c in cells), texts=sum(c[1] for c in cells),
                               model_s=sum(c[2] for c in cells))


def test_exercise_2_stub_fails_solution_passes():
    stub = exercises.check_2(_Stub42)
    assert not stub.passed and "must merge every thread's records" in stub.message
    assert exercises.check_2(_Solution42).passed


class _Stub43:
    def __init__(self, size, make):
        self._buffer = make()

    @contextlib.contextmanager
    def borrow(self, timeout_s):
        yield self._buffer


class _Solution43:
    def __init__(self, size, make):
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._free = []
        self._make = make

    @contextlib.contextmanager
    def borrow(self, timeout_s):
        if not self._slots.acquire(timeout=timeout_s):
            raise TimeoutError(f"no scratch buffer free within {timeout_s} s")
        try:
            with self._lock:
                buffer = self._free.pop() if self._free else None
            if buffer is None:
                buffer = self._make()
            try:
                yield buffer
            finally:
                with self._lock:
                    self._free.append(buffer)
        finally:
            self._slots.release()


class _OneAtATime43(_Solution43):
    def __init__(self, size, make):
        super().__init__(1, make)


def test_exercise_3_stub_fails_solution_passes_and_a_pool_of_one_fails():
    stub = exercises.check_3(_Stub43)
    assert stub.message == "a buffer was handed to a second caller while the first held it"
    assert exercises.check_3(_Solution43).passed
    serial = exercises.check_3(_OneAtATime43)
    assert serial.message == "2 callers could never hold buffers at the same time"


def _solution44(layout, request_threads, cores):
    if layout not in ("shared session", "session per thread", "process per worker"):
        raise ValueError(f"unknown layout {layout!r}")
    for name, value in (("request_threads", request_threads), ("cores", cores)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if layout == "shared session":  # the calls share one pool: threads add
        return max(1, cores - request_threads + 1)
    return max(1, cores // request_threads)  # a pool per requester: threads multiply


def test_exercise_4_stub_fails_solution_passes():
    stub = exercises.check_4(lambda layout, request_threads, cores: 0)
    assert stub.message.startswith(
        "19 of 19 cases wrong: choose('shared session', 1, 8) = 0, expected 8")
    assert exercises.check_4(_solution44).passed


def test_exercise_4_refuses_the_product_rule_for_a_shared_session():
    def product(layout, request_threads, cores):
        if layout not in exercises.LAYOUTS_4 or request_threads < 1 or cores < 1:
            raise ValueError("bad")
        return max(1, cores // request_threads)

    verdict = exercises.check_4(product)
    assert not verdict.passed
    assert "choose('shared session', 2, 8) = 4, expected 7" in verdict.message


# --- Oversubscription ---


def test_oversubscription_grid_measures_every_configuration_side_by_side(tiny):
    grid = oversubscription.measure(tiny, threads=(1, 2), intra_ops=(1, 2), calls=4,
                                    rounds=2, batch=2, timeout_s=20)
    assert [(c.layout, c.intra_op, c.threads, c.calls) for c in grid.cells] == [
        (layout, k, n, 4) for layout in oversubscription.LAYOUTS for k in (1, 2) for n in (1, 2)]
    assert all(c.calls_per_s > 0 and c.p99_ms >= c.p50_ms > 0 for c in grid.cells)
    if grid.pool_threads[1] is not None:  # Linux: a pool of k threads is the caller + k - 1
        assert grid.pool_threads == {1: 0, 2: 1}


def test_oversubscription_rule_states_the_measured_ratios(tiny):
    grid = oversubscription.measure(tiny, threads=(1, 2), calls=2, rounds=1, batch=1,
                                    layouts=("shared",), timeout_s=20)
    rule = grid.rule("shared")
    assert rule.startswith(f"shared session, {grid.cores} cores: with 1 request thread ")
    assert "p99" in rule


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("threads", (0,), r"^threads must be an int from 1 to 64, got 0$"),
    ("intra_ops", (-1,), r"^intra_op must be an int >= 0, got -1$"),
    ("layouts", ("pooled",), r"^layout must be one of 'shared', 'per-thread', got 'pooled'$"),
    ("calls", 0, r"^calls must be an int >= 1, got 0$"),
])
def test_oversubscription_rejects_bad_knobs(tiny, knob, value, message):
    with pytest.raises(ValueError, match=message):
        oversubscription.measure(tiny, **{knob: value})


# --- Version truth ---


def test_versions_observe_answers_every_probe_in_a_few_words():
    from demos.shared_state import versions

    seen = versions.observe()
    assert set(seen) == set(versions.PROBES)
    gil = not sysconfig.get_config_var("Py_GIL_DISABLED")
    if gil and sys.version_info >= (3, 10):
        assert seen["plus_equals_from_threads"] == "loses no update (4 threads × 50000)"
    assert seen["run_from_two_threads"] == "both run at once, results right"


# --- Layouts, spinning, global pools, parallel runs ---


def test_layouts_add_threads_on_a_shared_session_and_multiply_them_per_thread_and_process(tiny):
    from demos.shared_state import layouts

    result = layouts.measure(tiny, workers=2, intra_ops=(1, 2), calls=2, rounds=1, batch=1,
                             timeout_s=60)
    assert [(p.layout, p.intra_op) for p in result.points] == [
        (layout, k) for layout in layouts.LAYOUTS for k in (1, 2)]
    assert all(p.calls_per_s > 0 and p.p99_ms > 0 for p in result.points)
    if result.pool_threads[1] is None:
        pytest.skip("no /proc: threads cannot be counted here")
    assert result.pool_threads == {1: 0, 2: 1}  # a pool of k is the caller + k - 1 threads
    # Every count below is the callers plus the threads counted in /proc while each layout's
    # sessions (or each worker process's) were built, not the formula.
    threads = {(p.layout, p.intra_op): p.threads for p in result.points}
    assert threads == {("one request", 1): 1, ("one request", 2): 2,
                       ("shared session", 1): 2, ("shared session", 2): 3,
                       ("session per thread", 1): 2, ("session per thread", 2): 4,
                       ("process per worker", 1): 2, ("process per worker", 2): 4}
    assert result.summary("shared session").startswith("shared session: most throughput at ")
    # Every point counted the CPU it spent, worker processes included (their own clocks).
    assert all(p.cpu_s > 0 and p.cores_used > 0 and p.cpu_ms_per_call > 0
               for p in result.points)


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("workers", 0, r"^workers must be an int from 1 to 16, got 0$"),
    ("layouts", ("pooled",), r"^layout must be one of .*got 'pooled'$"),
    ("intra_ops", (-1,), r"^intra_op must be an int from 0 to 64, got -1$"),
])
def test_layouts_reject_bad_knobs(tiny, knob, value, message):
    from demos.shared_state import layouts

    with pytest.raises(ValueError, match=message):
        layouts.measure(tiny, **{knob: value})


def _grid(numbers):
    """A synthetic :class:`layouts.Layouts`: {(layout, k): (requests/s, p99 ms, CPU ms per
    request)}, 100 requests each, 4 requesters, built so that its properties give these."""
    from demos.shared_state import layouts

    points = []
    for (layout, k), (rate, p99, cpu_ms) in numbers.items():
        calls = 100
        window = calls / rate
        # 99 fast requests and one at p99 ms: np.percentile(…, 99) interpolates between the
        # 99th and 100th; make both equal to p99 so that the percentile is exactly p99.
        lat = (0.001,) * 98 + (p99 / 1e3,) * 2
        points.append(layouts.Point(layout, k, 4, None, lat, window, cpu_ms * calls / 1e3))
    return layouts.Layouts(tuple(points), 2, 4, 4, {})


def test_a_point_reports_the_cores_it_used_and_its_cpu_per_request():
    from demos.shared_state import layouts

    p = layouts.Point("shared session", 1, 4, 4, (0.1,) * 10, 2.0, 0.5)
    assert p.cores_used == pytest.approx(0.25)  # 0.5 CPU s over 2 wall s
    assert p.cpu_ms_per_call == pytest.approx(50.0)  # 0.5 CPU s over 10 requests


@pytest.mark.parametrize(("layout", "workers", "cores", "k"), [
    ("one request", 1, 2, 2), ("shared session", 4, 2, 1), ("shared session", 1, 4, 4),
    ("shared session", 2, 4, 3), ("session per thread", 4, 2, 1),
    ("session per thread", 2, 4, 2), ("process per worker", 3, 8, 2),
])
def test_the_budget_adds_on_a_shared_session_and_multiplies_otherwise(layout, workers, cores, k):
    from demos.shared_state import over_budget

    assert over_budget.budget(layout, workers, cores) == k


def test_the_budget_refuses_an_unknown_layout():
    from demos.shared_state import over_budget

    with pytest.raises(ValueError, match=r"^layout must be one of .*got 'pooled'$"):
        over_budget.budget("pooled", 4, 2)


LAYS = ("one request", "shared session", "session per thread")


def _twins(over):
    """Two grids whose k=1 points differ by 10% (the noise), and ``over`` at k=4 (k=2 is
    the one-request budget on 2 cores) for the second grid."""
    base = {(lay, k): (100.0, 50.0, 10.0) for lay in LAYS for k in (1, 2, 4)}
    one = _grid(base)
    other = dict(base)
    other.update({(lay, 1): (110.0, 55.0, 11.0) for lay in LAYS})
    other.update({(lay, 4): over for lay in LAYS})
    return one, _grid(other)


def test_the_noise_is_the_largest_gap_between_the_two_grids_at_one_thread():
    from demos.shared_state import over_budget

    one, other = _twins((100.0, 50.0, 10.0))
    gap = over_budget.noise(one, other)
    assert (gap.rate, gap.p99, gap.cpu) == pytest.approx((0.1, 0.1, 0.1))


def test_compare_judges_every_layout_the_one_request_row_included_against_its_budget():
    from demos.shared_state import over_budget

    _, other = _twins((200.0, 40.0, 10.0))
    overs = {o.layout: o for o in over_budget.compare(other, cores=2)}
    assert set(overs) == set(LAYS)
    assert (overs["one request"].budget, overs["one request"].over) == (2, 4)
    assert (overs["shared session"].budget, overs["shared session"].over) == (1, 4)
    shared = overs["shared session"]  # against k=1's 110 req/s, 55 ms, 11 CPU ms
    assert (shared.rate, shared.p99, shared.cpu) == pytest.approx((200 / 110, 40 / 55, 10 / 11))
    assert overs["one request"].rate == pytest.approx(2.0)  # against its budget, k=2


def test_a_gain_with_the_same_cpu_per_request_is_named_a_larger_share_of_the_machine():
    from demos.shared_state import over_budget

    one, other = _twins((250.0, 40.0, 10.5))  # 2.3-2.5x the requests, CPU within ±5%
    said = over_budget.verdicts("Off", over_budget.compare(other, 2),
                                over_budget.noise(one, other))
    assert said[0].startswith("Off: going over the budget served more requests/s in one "
                              "request, shared session, session per thread, fewer in none")
    assert "the gain is a larger share of the machine, not less work per request" in said[1]


def test_a_gain_with_less_cpu_per_request_is_named_less_work_not_a_larger_share():
    from demos.shared_state import over_budget

    one, other = _twins((250.0, 40.0, 8.0))  # more requests, CPU per request down 20-27%
    said = over_budget.verdicts("Off", over_budget.compare(other, 2),
                                over_budget.noise(one, other))
    assert "fell in one request, shared session, session per thread" in said[1]
    assert "the larger pool did less work per request" in said[1]
    assert "larger share" not in said[1]


def test_more_cpu_per_request_beyond_the_noise_is_named_cores_burned():
    from demos.shared_state import over_budget

    one, other = _twins((30.0, 200.0, 45.0))  # a third of the requests, 4x the CPU each
    said = over_budget.verdicts("On", over_budget.compare(other, 2),
                                over_budget.noise(one, other))
    assert "fewer in one request, shared session, session per thread" in said[0]
    assert "its p99 rose in one request, shared session, session per thread" in said[0]
    assert "it rose in one request, shared session, session per thread" in said[1]
    assert "burned more CPU per request without serving more" in said[1]


def test_differences_within_the_noise_are_reported_as_cannot_tell():
    from demos.shared_state import over_budget

    one, other = _twins((105.0, 52.0, 10.5))  # within the 10% the k=1 twins differ by
    said = over_budget.verdicts("Off", over_budget.compare(other, 2),
                                over_budget.noise(one, other))
    assert "cannot be told apart from the budget in one request, shared session" in said[0]
    assert "This run cannot tell a difference beyond the noise" in said[1]


def test_spinning_measures_both_settings_in_every_layout_with_the_cpu_spent(tiny):
    from demos.shared_state import pools

    points = pools.spinning(tiny, intra_op=2, threads=2, calls=2, rounds=2)
    assert [(p.spinning, p.layout) for p in points] == [
        (spin, layout) for layout in ("one request", "shared session", "session per thread")
        for spin in (True, False)]
    assert all(len(p.latencies_s) == 2 * p.threads and p.cpu_s > 0 for p in points)


def test_global_pools_are_set_once_refuse_per_session_threads_and_add_no_thread_per_session(
        tiny):
    from demos.shared_state import pools

    seen = pools.global_pools(tiny, intra_op=2, threads=3, calls=2, timeout_s=60)
    assert seen["signature"].startswith("set_global_thread_pool_sizes(intra_op_num_threads")
    assert "CreateEnvWithGlobalThreadPools" in seen["global_before_set"]
    assert "use_per_session_threads must be false" in seen["per_session_after_set"]
    assert "already been created" in seen["set_again"]
    assert seen["own_pools_added"] == 3  # 3 sessions × (2 - 1) pool threads
    assert seen["set_added"] == 1
    assert seen["global_sessions_added"] == 0
    assert set(seen["serving"]) == {"own pools", "global pool"}


def test_parallel_records_real_runs_overlapping_and_its_lock_control_never_overlaps(encoder):
    from demos.shared_state import trace

    # The real model, 8 texts: a run lasts milliseconds, so two calls released together by
    # the barrier are both inside run at some moment unless onnxruntime serialised them.
    texts = [f"request {i}: a storm is coming over the river and the cat sat on the mat"
             for i in range(8)]
    par = trace.parallel(encoder.session, encoder.feeds(texts), threads=2, calls=3, rounds=2)
    assert len(par[False].spans) == len(par[True].spans) == 2 * 3 * 2
    assert par[True].overlap == 0.0
    assert par[False].overlap > 0.0
    assert par[False].cpu_s > 0 and par[True].cpu_s > 0
    for p in par.values():  # how many samples catch whom asleep depends on the timing
        assert p.runnable is None if not p.samples else 0.0 <= p.runnable <= 1.0


def test_counters_figure_shows_the_forced_loss_in_the_broken_colour():
    import matplotlib

    matplotlib.use("Agg")
    from demos import plotting
    from demos.shared_state import plots

    meet = threading.Barrier(2)
    forced = counters.count("read–call–write", threads=2, increments=50,
                            call=lambda: meet.wait(10))
    fig = plots.counters({"read–call–write, forced": forced,
                          "lock": counters.count("lock", threads=2, increments=50)})
    (ax,) = fig.axes
    bars = list(ax.containers[0])  # the horizontal bars, one per pattern
    assert [round(b.get_width()) for b in bars] == [50, 100]
    assert matplotlib.colors.to_hex(bars[0].get_facecolor()) == plotting.BROKEN.lower()
    assert matplotlib.colors.to_hex(bars[1].get_facecolor()) == plotting.FIXED.lower()
    assert "read–call–write, forced lost 50 of 100" in plotting.describe(fig)
    matplotlib.pyplot.close(fig)


def test_exercise_4_names_a_bad_count_that_raised_the_wrong_error():
    verdict = exercises.check_4(lambda layout, n, cores: max(1, cores // n))
    assert "choose('shared session', 0, 8) raised ZeroDivisionError, not ValueError" in (
        verdict.message)
