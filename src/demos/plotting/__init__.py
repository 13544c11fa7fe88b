"""The book's one visual language: colours, figure style and the recurring plots.

Broken is always the vermillion family, fixed always the blue family, a reference or ideal
green, number formats their own colours (:func:`format_colour`), and everything else
(baselines, inputs, other series) neutral greys (Okabe–Ito hues, safe for the common forms
of colour blindness). A series' colour follows from its
label: ``"broken…"`` / ``"fixed…"`` / ``"reference…"`` (or ``"ideal"``, ``"oracle"``,
``"float64"``) and anything else is neutral; several series of one family differ by shade
and marker. Chapters never pick colours themselves (a test checks their figure code), so a
broken variant is labelled ``"broken: …"`` and takes the broken colour.

Figures have a white background and dark ink, so they read the same on the site's light
and dark themes; they are at most :data:`MAX_WIDTH_IN` wide, the site's text column, so
their text is never scaled below legibility; legends sit below the axes, never on data.

Helpers return the ``(fig, ax)`` they drew on, so a chapter can add to them.

The code lives in :mod:`~demos.plotting.palette` (colours and markers by role),
:mod:`~demos.plotting.layout` (the style, the page width, figures and legends),
:mod:`~demos.plotting.charts` (the recurring line, bar and timeline plots) and
:mod:`~demos.plotting.matrices` (heat maps and verdict grids); chapters import from here.
"""

from __future__ import annotations

from demos.plotting.alt import describe, install, set_alt
from demos.plotting.charts import (
    bars,
    error_vs_magnitude,
    latency_throughput,
    rate_vs_threads,
    timeline,
)
from demos.plotting.layout import DPI, MAX_WIDTH_IN, MIN_FONT_PT, figure, legend, use_book_style
from demos.plotting.matrices import heatmap, verdict_grid
from demos.plotting.palette import (
    BROKEN,
    FAMILIES,
    FIXED,
    NEUTRAL,
    REFERENCE,
    colour_for,
    format_colour,
    marker_for,
    role_of,
    styles,
)

__all__ = [
    "BROKEN",
    "DPI",
    "FAMILIES",
    "FIXED",
    "MAX_WIDTH_IN",
    "MIN_FONT_PT",
    "NEUTRAL",
    "REFERENCE",
    "bars",
    "colour_for",
    "describe",
    "error_vs_magnitude",
    "figure",
    "format_colour",
    "heatmap",
    "latency_throughput",
    "legend",
    "marker_for",
    "rate_vs_threads",
    "role_of",
    "set_alt",
    "styles",
    "timeline",
    "use_book_style",
    "verdict_grid",
]

# Every PNG matplotlib writes from now on carries its figure's alt text (demos.plotting.alt).
install()
