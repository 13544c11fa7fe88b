"""Wrong-but-plausible answers to every exercise, as a learner or an adversary writes them.

Each entry of :data:`WRONG` is ``(exercise, what the answer gets wrong, a function that runs
the answer through its check and returns the Verdict, a regex the message must match)``:
the message must name the mistake, not only say "not yet".
"""

from __future__ import annotations

from wrong_answers import (  # noqa: F401 - importing them registers their answers
    chapter0,
    chapter1,
    chapter2,
    chapter3,
    chapter4,
    chapter5,
    chapter6,
    chapter7,
    how_to_read,
)
from wrong_answers.common import WRONG

__all__ = ["WRONG"]
