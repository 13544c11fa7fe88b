"""The probe: the book's six pitfalls, looked for from outside a running embedding service.

``inference-pitfalls probe URL`` (or ``python -m demos probe URL``) knows only a URL, and
optionally a command that starts the service and trusted reference vectors. It sends
bounded, loopback-friendly traffic (OpenAI's ``POST /v1/embeddings``, or TEI's
``POST /embed``) and reports each pitfall it sees with the chapter that explains it, the
evidence and what to change. From Python or a pytest fixture::

    from demos.probe import probe
    report = probe("http://127.0.0.1:8000")
    assert report.clean, report

or as a CI step (the probe starts the service, watches its start-up, stops it)::

    inference-pitfalls probe http://127.0.0.1:8000 --start "uvicorn app:app --port 8000" \
        --reference reference.json --junit probe.xml --budget-s 120

Exit status 0: nothing found; 1: findings (each names the check, the book's chapter, the
evidence and the fix); 2: could not probe (unreachable, not that API), with the reason.

Modules: :mod:`.client` (HTTP, bounded), :mod:`.process` (``--start``), :mod:`.texts` (the
probe's texts), :mod:`.checks` (one module per check), :mod:`.report` (findings, JSON,
JUnit), :mod:`.runner` (one run) and :mod:`.cli`.
"""

from typing import Any

__all__ = ["Finding", "Report", "probe"]


def __getattr__(name: str) -> Any:
    """Import on first use: ``python -m demos`` builds its parser without httpx or numpy."""
    if name == "probe":
        from demos.probe.runner import probe

        return probe
    if name in ("Finding", "Report"):
        from demos.probe import report

        return getattr(report, name)
    raise AttributeError(f"module 'demos.probe' has no attribute {name!r}")
