"""Colours and markers by role: a series' label decides its colour, never the chapter.

Broken is the vermillion family, fixed the blue family, a reference or ideal green, and
everything else neutral greys (Okabe–Ito hues, safe for the common forms of colour
blindness); several series of one role differ by shade and marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = [
    "BROKEN",
    "FAMILIES",
    "FIXED",
    "MARKERS",
    "NEUTRAL",
    "REFERENCE",
    "colour_for",
    "format_colour",
    "marker_for",
    "role_of",
    "styles",
]

Role = Literal["broken", "fixed", "reference", "neutral"]

# Okabe–Ito. https://jfly.uni-koeln.de/color/
BROKEN = "#D55E00"  # vermillion
FIXED = "#0072B2"  # blue
REFERENCE = "#009E73"  # bluish green: the ideal, the oracle, float64
NEUTRAL = "#555555"
#: Shades per role, in order: the first is the role's colour, the others tell several
#: series of one role apart (with markers, so that shade is never the only cue).
FAMILIES: dict[str, tuple[str, ...]] = {
    "broken": (BROKEN, "#E69F00", "#8C3B00", "#F2A37B"),
    "fixed": (FIXED, "#56B4E9", "#003F63", "#8EC3E6"),
    "reference": (REFERENCE, "#005C43"),
    "neutral": (NEUTRAL, "#999999", "#222222", "#BBBBBB"),
}
MARKERS = ("o", "s", "^", "D", "v", "P")
#: Number formats, each its own colour in every figure: the 16-bit formats a cast loses
#: most in (the chapter's pitfall) in the broken family, vermillion and orange; float32,
#: which the model computes in and the fix casts to under a budget, fixed blue; float64, the
#: reference. Three greys made float16 and float32 hard to tell apart (#24).
FORMATS: dict[str, str] = {"float16": BROKEN, "bfloat16": FAMILIES["broken"][1],
                           "float32": FIXED, "float64": REFERENCE}


def role_of(label: str) -> Role:
    """The role a series label names: broken, fixed, reference, or neutral."""
    key = label.lower().lstrip()
    if key.startswith("broken"):
        return "broken"
    if key.startswith("fixed"):
        return "fixed"
    if key.startswith(("reference", "ideal", "float64", "oracle")):
        return "reference"
    return "neutral"


def colour_for(label: str, index: int = 0) -> str:
    """The colour for a series: its role's family, the ``index``-th shade of it."""
    family = FAMILIES[role_of(label)]
    return family[index % len(family)]


def format_colour(name: str) -> str:
    """The colour of a number format (``"float16"``, ``"bfloat16"``, ``"float32"``,
    ``"float64"``); any other name is refused, naming the ones there are."""
    if name not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {name!r}")
    return FORMATS[name]


def marker_for(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def _shades(labels: Sequence[str]) -> list[tuple[str, str]]:
    """``(colour, marker)`` per label: each role's series numbered within that role."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        role = role_of(label)
        n = seen.get(role, 0)
        seen[role] = n + 1
        out.append((colour_for(label, n), marker_for(n)))
    return out


def styles(labels: Sequence[str]) -> dict[str, dict[str, str]]:
    """``label -> {"color", "marker"}`` for chapters that draw series themselves: the same
    shades and markers :mod:`demos.plotting.charts` uses, each role's series numbered
    within it."""
    return {label: {"color": colour, "marker": marker}
            for label, (colour, marker) in zip(labels, _shades(labels), strict=True)}
