"""Chapter 2's note on CI: the forked child's exit probed with CI=true, as a CI machine runs it."""

from __future__ import annotations

import pytest

from demos.publication import ci_exit, versions


def test_the_ci_probe_reports_one_of_the_outcomes_the_chapter_names():
    seen = ci_exit.forked_child_exit_with_ci()
    assert seen == "hangs in exit (killed at the bound)" or seen.startswith(("exit ",
                                                                            "killed by SIG"))


def test_the_ci_probe_sets_ci_and_the_reader_probe_does_not(monkeypatch):
    """Same probe, the environment is the one difference: with CI set, as on a CI machine,
    onnxruntime starts another number of threads than in a reader's shell."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # removed by both probes
    assert (versions.threads_after_import(ci_set=True)
            != versions.threads_after_import(ci_set=False))


@pytest.mark.parametrize("bound", [0, -1.0])
def test_a_bound_that_is_not_positive_is_refused_by_name(bound):
    with pytest.raises(ValueError, match=r"bound_s must be a number of seconds > 0, got"):
        ci_exit.forked_child_exit_with_ci(bound)
