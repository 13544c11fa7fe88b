"""Chapter 0: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import numpy as np

from wrong_answers.common import encoder as _encoder
from wrong_answers.common import wrong

# --- 0.1 · mean pooling ---------------------------------------------------------------------


def _p01(pool):
    from demos import tour

    return tour.check_mean_pool(pool, encoder=_encoder())


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@wrong("0.1", "masked mean, not scaled to length 1", r"0 of yours have length 1")
def _():
    return _p01(lambda h, m: (h * m[..., None]).sum(1) / m.sum(1, keepdims=True))


@wrong("0.1", "scaled to length 1, but the padding averaged in", r"2 of the 3 texts are padded")
def _():
    return _p01(lambda h, m: _unit(h.mean(axis=1)))


@wrong("0.1", "the [CLS] vector, scaled", r"differ from the model's")
def _():
    return _p01(lambda h, m: _unit(h[:, 0]))


@wrong("0.1", "max pooling over real tokens, scaled", r"differ from the model's")
def _():
    return _p01(lambda h, m: _unit(np.where(m[..., None] > 0, h, -np.inf).max(axis=1)))
