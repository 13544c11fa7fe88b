"""Report: what one scenario run observed, in a form people and plots can read."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Report"]

Metric = float | int | bool | str


@dataclass(frozen=True, slots=True)
class Report:
    """The result of driving one implementation through one pitfall's scenario.

    Args:
        pitfall: the pitfall package's short name, e.g. ``"batching"``.
        impl: which implementation ran: ``"broken"``, ``"fixed"`` or a reader's own.
        manifested: True when the pitfall showed itself (a silent wrong result, a hang,
            a race, an error that does not name the problem).
        headline: one sentence a person can read, e.g. "3 of 8 requests hung".
        metrics: numbers for plots and benchmarks (rates, errors, timings in seconds).

    Reports are immutable: ``metrics`` is stored as a read-only mapping.
    """

    pitfall: str
    impl: str
    manifested: bool
    headline: str
    metrics: Mapping[str, Metric] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.manifested, bool):
            raise TypeError(f"manifested must be a bool, got {type(self.manifested).__name__}")
        for key, value in self.metrics.items():
            if not isinstance(key, str):
                raise TypeError(f"metric names must be str, got {key!r}")
            if not isinstance(value, Metric):
                raise TypeError(
                    f"metric {key!r} must be a number, bool or str, got {type(value).__name__}"
                )
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def verdict(self) -> str:
        """``"MANIFESTED"`` or ``"held"``: the word the text and HTML forms lead with."""
        return "MANIFESTED" if self.manifested else "held"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become strings, as JSON has no NaN)."""
        return {
            "pitfall": self.pitfall,
            "impl": self.impl,
            "manifested": self.manifested,
            "headline": self.headline,
            "metrics": {k: _json_safe(v) for k, v in self.metrics.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        lines = [f"[{self.pitfall} · {self.impl}] {self.verdict}: {self.headline}"]
        width = max((len(k) for k in self.metrics), default=0)
        lines += [f"  {k:<{width}}  {_format(v)}" for k, v in self.metrics.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#D55E00" if self.manifested else "#0072B2"  # plotting.BROKEN / FIXED
        rows = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td>"
            f"<td style='text-align:right'>{html.escape(_format(v))}</td></tr>"
            for k, v in self.metrics.items()
        )
        return (
            f"<div class='demos-report' style='border-left:4px solid {colour};padding-left:8px'>"
            f"<strong>{html.escape(self.pitfall)} · {html.escape(self.impl)}</strong> — "
            f"<strong style='color:{colour}'>{self.verdict}</strong>: "
            f"{html.escape(self.headline)}"
            f"<table>{rows}</table></div>"
        )


def _format(value: Metric) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isfinite(value) and value != 0 and not 1e-3 <= abs(value) < 1e6:
        return f"{value:.3e}"
    return f"{value:.4g}"


def _json_safe(value: Metric) -> Metric:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
