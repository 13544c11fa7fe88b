"""Report: immutable, readable as text and HTML, JSON-safe."""

from __future__ import annotations

import json
import math

import pytest

from demos.report import Report


def make(**overrides) -> Report:
    fields = {
        "pitfall": "batching",
        "impl": "broken",
        "manifested": True,
        "headline": "3 of 8 requests hung",
        "metrics": {"hung": 3, "p99_ms": 12.5, "max_error": 1.2e-7},
    }
    return Report(**{**fields, **overrides})


def test_report_text_leads_with_the_verdict_and_lists_the_metrics():
    text = str(make())
    assert text.splitlines()[0] == "[batching · broken] MANIFESTED: 3 of 8 requests hung"
    assert "p99_ms     12.5" in text
    assert "1.200e-07" in text


def test_report_that_held_says_held():
    assert str(make(manifested=False)).startswith("[batching · broken] held:")


def test_report_html_escapes_its_text():
    html = make(headline="<b>x</b> & y")._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html


def test_report_is_immutable_including_its_metrics():
    report = make()
    with pytest.raises(AttributeError):
        report.manifested = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.metrics["hung"] = 0  # type: ignore[index]


def test_report_json_turns_non_finite_floats_into_strings():
    data = json.loads(make(metrics={"nan": math.nan, "inf": math.inf}).to_json())
    assert data["metrics"] == {"nan": "nan", "inf": "inf"}


def test_report_rejects_a_manifested_flag_that_is_not_a_bool():
    with pytest.raises(TypeError, match=r"^manifested must be a bool, got int$"):
        make(manifested=1)


def test_report_rejects_a_metric_that_is_not_a_number():
    with pytest.raises(TypeError, match=r"^metric 'x' must be a number, bool or str, got list$"):
        make(metrics={"x": [1, 2]})
