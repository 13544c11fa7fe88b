"""Chapter 2's fork section: what ``spawn`` costs in memory, and the warning CPython gives."""

from __future__ import annotations

import sys

import pytest

from demos.publication import fork_costs


def test_a_spawned_worker_costs_far_more_memory_than_a_forked_one_with_the_real_model():
    fork, spawn = (fork_costs.worker_memory(method, workers=2) for method in fork_costs.METHODS)
    assert [len(step.uss_mib) for step in fork] == [len(step.uss_mib) for step in spawn] == [1, 2]
    fork_growth = fork[1].total_pss_mib - fork[0].total_pss_mib
    spawn_growth = spawn[1].total_pss_mib - spawn[0].total_pss_mib
    assert spawn_growth > 10 * max(fork_growth, 1.0), (fork_growth, spawn_growth)
    assert min(spawn[1].uss_mib) > max(fork[1].uss_mib)
    # the forked workers share the server's weights: its PSS drops as they share its pages
    assert fork[1].server_pss_mib < fork[0].server_pss_mib


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "forkserver"}, r"^method must be one of \['fork', 'spawn'\], got 'forkserver'$"),
    ({"method": "fork", "workers": 4}, r"^workers must be between 1 and 3, got 4$"),
    ({"method": "spawn", "workers": 0}, r"^workers must be between 1 and 3, got 0$"),
])
def test_worker_memory_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fork_costs.worker_memory(**kwargs)


def test_forking_a_threaded_process_warns_from_3_12_and_multiprocessing_hides_it_by_default():
    seen = {(how, show_all): fork_costs.fork_warning(sys.executable, how, show_all=show_all)
            for how in ("os.fork", "multiprocessing") for show_all in (False, True)}
    if sys.version_info >= (3, 12):
        expected = ("This process (pid=<pid>) is multi-threaded, use of fork() may lead to "
                    "deadlocks in the child.")
        assert seen == {("os.fork", False): expected, ("os.fork", True): expected,
                        ("multiprocessing", False): "", ("multiprocessing", True): expected}
    else:
        assert set(seen.values()) == {""}


def test_fork_warning_rejects_an_unknown_way_to_fork():
    with pytest.raises(ValueError, match=r"^how must be 'os.fork' or 'multiprocessing', "
                                         r"got 'vfork'$"):
        fork_costs.fork_warning(sys.executable, "vfork")


def test_the_interpreters_found_include_the_one_running_the_tests():
    found = fork_costs.interpreters()
    assert ".".join(map(str, sys.version_info[:3])) in found
