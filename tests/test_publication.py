"""Chapter 2: publishing a model before it is ready (demos.publication)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from demos import catalogue
from demos.publication import broken, exercises, experiments, fixed, forking, scenario, versions
from demos.publication.model import Model, reference_predict, sample_ids

#: A bound for waits in these tests; nothing here should take more than a fraction of it, so
#: a regression (broken code where the fixed code should be) fails in seconds.
BOUND_S = 3.0

KNOBS = [
    pytest.param({"trials": 4}, id="defaults"),
    pytest.param({"readers": 3, "trials": 3, "load_delay_s": 0.0, "threads": 4,
                  "workers": 0}, id="3-readers"),
    pytest.param({"readers": 1, "trials": 2, "load_delay_s": 0.05, "threads": 2,
                  "intra_op_threads": 2}, id="1-reader"),
]


@pytest.mark.parametrize("knobs", KNOBS)
def test_broken_publication_manifests_in_every_run(knobs):
    report = scenario.run(broken, bound_s=BOUND_S, **knobs)
    assert report.manifested
    trials = report.metrics["trials"]
    assert report.metrics["trials_with_a_failure"] == trials  # in every trial, by construction
    assert report.metrics["lazy_trials_off_contract"] == trials
    assert report.metrics["max_distinct_objects"] >= 2
    assert report.metrics["workers_with_inherited_session"] == report.metrics["workers"]


@pytest.mark.parametrize("knobs", KNOBS)
def test_fixed_publication_holds_in_every_run(knobs):
    report = scenario.run(fixed, bound_s=BOUND_S, **knobs)
    assert not report.manifested, str(report)
    assert report.metrics["failures"] == 0
    assert report.metrics["loads"] == report.metrics["trials"]
    assert report.metrics["max_distinct_objects"] == 1
    assert report.metrics["workers_failed"] == 0


class _NeverLoads:
    """A LazyModel that never calls load: it hands every thread None."""

    def __init__(self, load):
        self.load = load

    def get(self):
        return None


class _LoadsButDropsIt:
    """Calls load once, under a lock, but returns a fresh object to every caller."""

    def __init__(self, load):
        self.inner = fixed.LazyModel(load)

    def get(self):
        self.inner.get()
        return object()


@pytest.mark.parametrize("lazy", [_NeverLoads, _LoadsButDropsIt], ids=["never-loads", "no-model"])
def test_a_lazy_model_off_the_contract_in_any_direction_manifests(lazy):
    mine = SimpleNamespace(ModelHolder=fixed.ModelHolder, LazyModel=lazy)
    report = scenario.run(mine, trials=2, threads=4, bound_s=BOUND_S)
    assert report.manifested
    assert report.metrics["lazy_trials_off_contract"] == 2
    assert report.metrics["threads_without_a_model"] == 8


def test_a_holder_that_never_becomes_ready_manifests_within_its_bound():
    class NeverReady(fixed.ModelHolder):
        def is_ready(self):
            return False

    mine = SimpleNamespace(ModelHolder=NeverReady, LazyModel=fixed.LazyModel)
    started = time.monotonic()
    report = scenario.run(mine, trials=1, readers=2, bound_s=1.0)
    assert report.manifested
    assert report.metrics["failures"] == 2
    assert report.metrics["first_failure"] == "never ready"
    assert time.monotonic() - started < 10 * BOUND_S


def test_broken_reader_that_trusts_the_flag_gets_none_instead_of_the_model():
    trial = scenario.holder_trial(broken, readers=2, bound_s=BOUND_S)
    outcomes = {s.outcome for s in trial.sights if s.failed}
    assert "AttributeError: 'NoneType' object has no attribute 'predict'" in outcomes
    assert all(s.saw_ready_ms <= trial.warm_end_ms for s in trial.sights if s.failed)


@pytest.mark.parametrize("wait", ["poll", "get"])
def test_fixed_readers_see_ready_only_after_warm_up_and_get_the_right_answer(wait):
    trial = scenario.holder_trial(fixed, readers=3, wait=wait, bound_s=BOUND_S)
    assert [s.outcome for s in trial.sights] == ["ok", "ok", "ok"]
    assert all(s.saw_ready_ms >= trial.warm_end_ms for s in trial.sights)
    assert trial.wait == wait


@pytest.mark.parametrize("intra_op_threads", [1, 4])
def test_broken_worker_forked_after_preload_serves_with_the_parents_session(intra_op_threads):
    trial = forking.worker_trial(broken, intra_op_threads=intra_op_threads, timeout_s=4 * BOUND_S)
    assert trial.inherited  # by construction: fork copies the parent's loaded model
    assert trial.model_pid == trial.server_pid != trial.worker_pid
    assert trial.worker_threads == 1  # fork copies only the calling thread: no intra-op pool
    assert trial.prediction_ok  # and yet it answers correctly, on that one thread
    assert trial.failed


@pytest.mark.parametrize("intra_op_threads", [1, 4])
def test_fixed_worker_creates_its_own_session_with_its_threads_and_exits_cleanly(
        intra_op_threads):
    trial = forking.worker_trial(fixed, intra_op_threads=intra_op_threads, timeout_s=4 * BOUND_S)
    assert not trial.inherited
    assert trial.model_pid == trial.worker_pid
    assert trial.worker_threads >= intra_op_threads
    assert trial.prediction_ok and trial.released and trial.exitcode == 0
    assert not trial.failed


def test_a_worker_forked_while_the_locked_load_runs_inherits_the_lock_held_and_hangs_in_get():
    trial = forking.worker_trial(broken, lazy=fixed, mode="during-load", timeout_s=8.0)
    assert trial.get_hung  # by construction: the server's loader holds the lock at the fork
    assert trial.failed
    assert trial.outcome == "hung in get() (gave up)"


def test_a_worker_spawned_while_the_load_runs_loads_its_own_model():
    trial = forking.worker_trial(fixed, mode="during-load", timeout_s=4 * BOUND_S)
    assert not trial.get_hung and trial.model_pid == trial.worker_pid
    assert not trial.failed


def test_worker_trial_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match=r"^mode must be 'preload' or 'during-load', got 'x'$"):
        forking.worker_trial(fixed, mode="x")


def test_fixed_start_worker_rejects_a_target_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^target must be callable, got str$"):
        fixed.start_worker("serve")


def test_fixed_holder_stays_correct_with_a_natural_sleep_zero_gap():
    assert experiments.race_rate(experiments.GAPS["sleep(0)"], trials=10, impl=fixed) == 0.0


def test_fixed_get_raises_model_not_ready_within_its_bound_when_the_loader_never_finishes():
    release = threading.Event()
    holder = fixed.ModelHolder(lambda: release.wait(BOUND_S) and "model").start()
    try:
        started = time.monotonic()
        with pytest.raises(fixed.ModelNotReadyError, match=r"^model not ready after 0\.2s$"):
            holder.get(timeout_s=0.2)
        assert time.monotonic() - started < BOUND_S  # within the bound, not after the load
        assert not holder.is_ready()
    finally:
        release.set()
        assert holder.join(BOUND_S)
    assert holder.get(timeout_s=1.0) == "model"


def _failing_load() -> Model:
    raise OSError("weights file is truncated")


def test_fixed_loader_failure_reaches_every_waiter_instead_of_leaving_them_waiting():
    holder = fixed.ModelHolder(_failing_load)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wait() -> None:
        try:
            holder.get(timeout_s=BOUND_S)
        except BaseException as error:
            with lock:
                errors.append(error)

    waiters = [threading.Thread(target=wait, name=f"waiter-{i}") for i in range(4)]
    for waiter in waiters:
        waiter.start()
    holder.start()
    for waiter in waiters:
        waiter.join(2 * BOUND_S)
    assert holder.join(BOUND_S)
    assert len(errors) == 4
    assert all(isinstance(e, fixed.ModelLoadError) for e in errors)
    assert all(isinstance(e.__cause__, OSError) for e in errors)
    assert str(errors[0]) == "model failed to load: OSError('weights file is truncated')"
    assert not holder.is_ready()


def test_broken_loader_failure_is_only_logged_and_waiters_time_out(caplog):
    holder = broken.ModelHolder(_failing_load)
    with caplog.at_level(logging.ERROR, logger=broken.__name__):
        holder.start()
        assert holder.join(BOUND_S)
        with pytest.raises(broken.ModelNotReadyError, match=r"^model not ready after 0\.1s$"):
            holder.get(timeout_s=0.1)
    assert "model load failed" in caplog.text


@pytest.mark.parametrize("threads", [2, 8])
def test_broken_lazy_model_loads_once_per_thread_that_checked_first(threads):
    trial = scenario.lazy_trial(broken.LazyModel, threads=threads, load_delay_s=0.05,
                                bound_s=BOUND_S)
    assert trial.loads >= 2
    assert trial.distinct >= 2
    assert trial.broken


@pytest.mark.parametrize("threads", [2, 8])
def test_fixed_lazy_model_loads_exactly_once_and_every_thread_gets_the_same_object(threads):
    trial = scenario.lazy_trial(fixed.LazyModel, threads=threads, load_delay_s=0.05,
                                bound_s=BOUND_S)
    assert trial == (1, 1, 0)
    assert not trial.broken


def test_lru_cache_does_not_prevent_duplicate_loads():
    trial = scenario.lazy_trial(experiments.LruCacheLazy, threads=8, load_delay_s=0.05,
                                bound_s=BOUND_S)
    assert trial.loads >= 2


def test_cached_property_loads_once_exactly_when_the_probe_observes_a_lock():
    locked = versions.cached_property_getter_runs() == 1
    assert locked == (sys.version_info < (3, 12))  # 3.12 removed the lock (gh-87634)
    trial = scenario.lazy_trial(experiments.CachedPropertyLazy, threads=8, load_delay_s=0.05,
                                bound_s=BOUND_S)
    assert (trial.loads == 1) == locked


def test_lazy_loads_labels_each_variant_by_what_it_did():
    loads = experiments.lazy_loads(threads=(1, 4), repeats=1, load_delay_s=0.0)
    labels = list(loads)
    assert labels[0] == "broken: no lock" and labels[1] == "broken: lru_cache"
    assert labels[3] == "fixed: lock" and loads["fixed: lock"] == [1, 1]
    cached = labels[2]
    assert cached.startswith("broken: ") == (max(loads[cached]) > 1)


def test_version_probes_answer_every_question_they_ask():
    seen = versions.observe()
    assert set(seen) == set(versions.PROBES)
    assert seen["cached_property_lock"] in ("getter runs once: locked",
                                            "getter runs 8 times for 8 threads: no lock")
    assert seen["forked_worker_session"].startswith("1 thread(s) in the worker")
    assert seen["forked_child_exit"].startswith(("exit ", "killed by SIG", "hangs in exit"))


def test_fixed_lazy_model_retries_after_a_failed_load():
    attempts = []

    def load() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "model"

    lazy = fixed.LazyModel(load)
    with pytest.raises(OSError, match=r"^disk hiccup$"):
        lazy.get()
    assert lazy.get() == "model"
    assert lazy.get() == "model"
    assert len(attempts) == 2


@pytest.mark.parametrize("impl", [broken, fixed], ids=["broken", "fixed"])
def test_get_model_returns_a_real_onnxruntime_model_that_predicts_correctly(impl):
    model = impl.get_model()
    ids = sample_ids(3, seed=7)
    np.testing.assert_allclose(model.predict(ids), reference_predict(ids), atol=1e-5)
    assert impl.get_model() is model  # one thread: even the broken one loads once


@pytest.mark.parametrize("timeout_s", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_fixed_get_rejects_a_timeout_that_is_not_a_positive_finite_number(timeout_s):
    holder = fixed.ModelHolder(lambda: "model").start()
    assert holder.join(BOUND_S)  # loaded: a get() that skips the check returns at once
    with pytest.raises(ValueError, match=r"^timeout_s must be a finite number > 0, got .+$"):
        holder.get(timeout_s=timeout_s)


def test_fixed_holder_and_lazy_model_reject_a_load_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^load must be callable, got str$"):
        fixed.ModelHolder("model.onnx")
    with pytest.raises(TypeError, match=r"^warm_up must be callable or None, got int$"):
        fixed.ModelHolder(lambda: "model", warm_up=1)
    with pytest.raises(TypeError, match=r"^load must be callable, got NoneType$"):
        fixed.LazyModel(None)


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("readers", 0, r"^readers must be an int >= 1, got 0$"),
    ("trials", 1.5, r"^trials must be an int >= 1, got 1\.5$"),
    ("threads", True, r"^threads must be an int >= 1, got True$"),
    ("workers", -1, r"^workers must be an int >= 0, got -1$"),
    ("intra_op_threads", 0, r"^intra_op_threads must be an int >= 1, got 0$"),
    ("load_delay_s", -0.1, r"^load_delay_s must be a finite number >= 0 \(seconds\), got -0\.1$"),
    ("bound_s", 0, r"^bound_s must be a finite number > 0 \(seconds\), got 0$"),
])
def test_scenario_rejects_bad_knobs(knob, value, message):
    with pytest.raises(ValueError, match=message):
        scenario.run(fixed, **{knob: value})


def test_scenario_accepts_a_readers_own_namespace_and_labels_it():
    mine = SimpleNamespace(ModelHolder=fixed.ModelHolder, LazyModel=broken.LazyModel)
    report = scenario.run(mine, trials=2, threads=4, bound_s=BOUND_S)
    assert report.impl == "yours"
    assert report.manifested  # the lazy half is still the broken one
    assert report.metrics["failures"] == 0
    assert report.metrics["workers"] == 0  # a namespace has no start_worker: skipped


def test_switch_interval_is_restored_after_the_block():
    before = sys.getswitchinterval()
    with experiments.switch_interval(1e-4):
        assert sys.getswitchinterval() == pytest.approx(1e-4)
    assert sys.getswitchinterval() == before


def test_catalogue_finds_the_chapter_with_its_title():
    pitfall = catalogue.find("publication")
    assert (pitfall.chapter, pitfall.title) == (2, "Publishing a model before it is ready")


def test_bench_reports_both_implementations_side_by_side():
    result = scenario.bench(trials=1)
    assert result["broken"]["duplicate_loads"] >= 1
    assert result["fixed"]["duplicate_loads"] == 0
    assert result["fixed_get_over_broken_get"] > 0


# Exercises: the stub as the notebook gives it fails its check; a solution passes it.
# (Small copies of the notebook's cells: the notebook stays self-contained.)

def _once_stub(init):
    value = None

    def get():
        nonlocal value
        if value is None:
            value = init()
        return value

    return get


def _once_solution(init):
    lock = threading.Lock()  # held while init runs
    box = []

    def get():
        if box:
            return box[0]
        with lock:
            if not box:
                box.append(init())
        return box[0]

    return get


def _readiness_stub(holder):
    return (200, "ready") if holder.is_ready() else (503, "loading")


def _readiness_solution(holder):
    if holder.is_ready():
        return 200, "ready"
    try:
        holder.get(timeout_s=0.001)
    except fixed.ModelLoadError as error:
        return 500, f"failed: {error.__cause__!r}"
    except fixed.ModelNotReadyError:
        return 503, "loading"
    return 200, "ready"


class _ReloadStub:
    def __init__(self, model):
        self._model = model

    def predict(self, ids):
        return self._model.predict(ids)

    def reload(self, new_model):
        old, self._model = self._model, new_model
        old.close()


class _ReloadSolution:
    def __init__(self, model):
        self._model = model
        self._users = {}  # id(model) -> requests using it now
        self._retired = []  # replaced models still in use
        self._lock = threading.Lock()  # guards the three fields above

    def predict(self, ids):
        with self._lock:
            model = self._model
            self._users[id(model)] = self._users.get(id(model), 0) + 1
        try:
            return model.predict(ids)
        finally:
            with self._lock:
                self._users[id(model)] -= 1
                last = self._users[id(model)] == 0 and model in self._retired
                if last:
                    self._retired.remove(model)
            if last:
                model.close()

    def reload(self, new_model):
        with self._lock:
            old, self._model = self._model, new_model
            idle = self._users.get(id(old), 0) == 0
            if not idle:
                self._retired.append(old)
        if idle:
            old.close()


class _ReloadNeverCloses(_ReloadStub):
    def reload(self, new_model):
        self._model = new_model


def test_exercise_1_stub_fails_and_solution_passes_on_the_scenario_verdict():
    stub = exercises.check_1(_once_stub)
    assert not stub.passed
    assert stub.message.startswith("3 of 3 trials broke the contract")
    assert "init ran more than once" in stub.message
    never = exercises.check_1(lambda init: (lambda: None))
    assert not never.passed and never.message.endswith("init never ran")
    assert exercises.check_1(_once_solution).passed


def test_exercise_2_stub_reports_loading_forever_after_a_failed_load():
    stub = exercises.check_2(_readiness_stub)
    assert not stub.passed
    assert stub.message == "failed: got 503, expected 500"
    assert exercises.check_2(_readiness_solution).passed


def test_exercise_2_a_probe_that_blocks_while_loading_is_not_a_probe():
    blocking = exercises.check_2(lambda holder: (200, str(holder.get(timeout_s=BOUND_S))))
    assert not blocking.passed
    assert "readiness() blocked on a loading holder" in blocking.message


def test_exercise_3_stub_closes_the_old_model_under_a_request_in_flight():
    stub = exercises.check_3(_ReloadStub)
    assert not stub.passed
    assert "closed while 2 request(s) were using it" in stub.message
    leak = exercises.check_3(_ReloadNeverCloses)
    assert not leak.passed and "closed 0 times" in leak.message
    assert exercises.check_3(_ReloadSolution).passed
