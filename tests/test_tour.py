"""demos.tour: the opening pages' broken/fixed registry, their exercise checks, the front page."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from demos import catalogue, tour
from demos.harness import bounded


def test_broken_registry_hangs_in_add_many_and_the_fixed_one_stores_every_item():
    lock = threading.Lock()
    broken = bounded(tour.BrokenRegistry(lock).add_many, 0.2, {"a": 1}, cancel=lock.release)
    assert broken.hung and broken.cleaned_up
    registry = tour.FixedRegistry()
    fixed = bounded(registry.add_many, 1.0, {"a": 1, "b": 2})
    assert fixed.ok and len(registry) == 2


@pytest.mark.parametrize("make_lock", [threading.Lock, lambda: threading.Semaphore(2),
                                       lambda: None], ids=["Lock", "Semaphore(2)", "None"])
def test_exercise_h1_refuses_a_lock_that_hangs_or_does_not_exclude(make_lock):
    verdict = tour.check_reentrant_lock(make_lock)
    assert not verdict.passed and str(verdict).startswith("Exercise H.1 — not yet: ")


def test_exercise_h1_passes_a_reentrant_lock():
    assert tour.check_reentrant_lock(threading.RLock).passed


def _pool(hidden, mask, *, normalise=True):
    weights = mask[..., None].astype(hidden.dtype)
    mean = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True) if normalise else mean


def test_exercise_01_passes_masked_mean_pooling_and_refuses_near_misses():
    from demos.models import tiny_encoder

    encoder = tiny_encoder()
    assert tour.check_mean_pool(_pool, encoder=encoder).passed
    for wrong in (lambda h, m: h.mean(axis=1), lambda h, m: _pool(h, m, normalise=False),
                  lambda h, m: h[:, 0]):
        verdict = tour.check_mean_pool(wrong, encoder=encoder)
        assert not verdict.passed and " — not yet: " in str(verdict)
    assert "raised" in str(tour.check_mean_pool(lambda h, m: 1 / 0, encoder=encoder))


def test_front_page_knobs_name_only_landed_pitfalls():
    assert set(tour.QUICK_KNOBS) <= {p.name for p in catalogue.pitfalls()}
