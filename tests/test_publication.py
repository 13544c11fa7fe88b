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
from demos.publication import broken, experiments, fixed, scenario
from demos.publication.model import Model, reference_predict, sample_ids

KNOBS = [
    pytest.param({}, id="defaults"),
    pytest.param({"readers": 3, "trials": 3, "load_delay_s": 0.0, "threads": 4}, id="3-readers"),
    pytest.param({"readers": 1, "trials": 2, "load_delay_s": 0.05, "threads": 2}, id="1-reader"),
]

#: A bound for waits in these tests; nothing here should take more than a fraction of it.
BOUND_S = 10.0


@pytest.mark.parametrize("knobs", KNOBS)
def test_broken_publication_manifests_in_every_run(knobs):
    report = scenario.run(broken, **knobs)
    assert report.manifested
    trials = report.metrics["trials"]
    assert report.metrics["failures"] >= trials  # at least one reader per trial, by construction
    assert report.metrics["duplicate_loads"] >= 1
    assert report.metrics["max_distinct_objects"] >= 2


@pytest.mark.parametrize("knobs", KNOBS)
def test_fixed_publication_holds_in_every_run(knobs):
    report = scenario.run(fixed, **knobs)
    assert not report.manifested, str(report)
    assert report.metrics["failures"] == 0
    assert report.metrics["loads"] == report.metrics["trials"]
    assert report.metrics["max_distinct_objects"] == 1


def test_broken_reader_that_trusts_the_flag_gets_none_instead_of_the_model():
    trial = scenario.holder_trial(broken, readers=2)
    outcomes = {s.outcome for s in trial.sights if s.failed}
    assert "AttributeError: 'NoneType' object has no attribute 'predict'" in outcomes
    assert all(s.saw_ready_ms <= trial.warm_end_ms for s in trial.sights if s.failed)


def test_fixed_readers_see_ready_only_after_warm_up_and_get_the_right_answer():
    trial = scenario.holder_trial(fixed, readers=3)
    assert [s.outcome for s in trial.sights] == ["ok", "ok", "ok"]
    assert all(s.saw_ready_ms >= trial.warm_end_ms for s in trial.sights)


def test_fixed_holder_stays_correct_with_a_natural_sleep_zero_gap():
    assert experiments.race_rate(experiments.GAPS["sleep(0)"], trials=10, impl=fixed) == 0.0


def test_fixed_get_raises_model_not_ready_within_its_bound_when_the_loader_never_finishes():
    release = threading.Event()
    holder = fixed.ModelHolder(lambda: release.wait(BOUND_S) and "model").start()
    try:
        started = time.monotonic()
        with pytest.raises(fixed.ModelNotReadyError, match=r"^model not ready after 0\.2s$"):
            holder.get(timeout_s=0.2)
        assert time.monotonic() - started < BOUND_S / 2  # within the bound, not after the load
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
    started = time.monotonic()
    holder.start()
    for waiter in waiters:
        waiter.join(BOUND_S)
    assert holder.join(BOUND_S)
    assert time.monotonic() - started < BOUND_S / 2
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
    loads, distinct = scenario.lazy_trial(broken.LazyModel, threads=threads, load_delay_s=0.05)
    assert loads >= 2
    assert distinct >= 2


@pytest.mark.parametrize("threads", [2, 8])
def test_fixed_lazy_model_loads_exactly_once_and_every_thread_gets_the_same_object(threads):
    assert scenario.lazy_trial(fixed.LazyModel, threads=threads, load_delay_s=0.05) == (1, 1)


def test_lru_cache_does_not_prevent_duplicate_loads():
    loads, _ = scenario.lazy_trial(experiments.LruCacheLazy, threads=8, load_delay_s=0.05)
    assert loads >= 2


def test_cached_property_locks_on_python_3_11_and_earlier_but_not_from_3_12():
    loads, distinct = scenario.lazy_trial(experiments.CachedPropertyLazy, threads=8,
                                          load_delay_s=0.05)
    if sys.version_info < (3, 12):  # cached_property held an RLock until 3.11
        assert (loads, distinct) == (1, 1)
    else:  # 3.12 removed the lock (gh-87634): every thread that got in first loads
        assert loads >= 2


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
    holder = fixed.ModelHolder(lambda: "model")
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
    ("load_delay_s", -0.1, r"^load_delay_s must be a finite number >= 0, got -0\.1$"),
])
def test_scenario_rejects_bad_knobs(knob, value, message):
    with pytest.raises(ValueError, match=message):
        scenario.run(fixed, **{knob: value})


def test_scenario_accepts_a_readers_own_namespace_and_labels_it():
    mine = SimpleNamespace(ModelHolder=fixed.ModelHolder, LazyModel=broken.LazyModel)
    report = scenario.run(mine, trials=2, threads=4)
    assert report.impl == "yours"
    assert report.manifested  # the lazy half is still the broken one
    assert report.metrics["failures"] == 0


def test_switch_interval_is_restored_after_the_block():
    before = sys.getswitchinterval()
    with experiments.switch_interval(1e-4):
        assert sys.getswitchinterval() == pytest.approx(1e-4)
    assert sys.getswitchinterval() == before


def test_catalogue_finds_the_chapter_with_its_title():
    pitfall = catalogue.find("publication")
    assert (pitfall.chapter, pitfall.title) == (2, "Publishing a model before it is ready")


def test_bench_reports_both_implementations_side_by_side():
    result = scenario.bench(trials=2)
    assert result["broken"]["duplicate_loads"] >= 1
    assert result["fixed"]["duplicate_loads"] == 0
    assert result["fixed_get_over_broken_get"] > 0
