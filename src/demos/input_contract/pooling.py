"""The attention mask is part of the contract: what each way of getting it wrong costs.

A batch of texts is padded to its longest text. The mask says which positions are real.
:func:`mask_mistakes` embeds one padded batch the right way (the graph's masked mean
pooling) and four wrong ways, computed from the model's own ``last_hidden_state``:

* ``mask ignored in attention``: an all-ones mask is fed, so real tokens attend to the
  padding; the hidden states are then mean-pooled over the real tokens only.
* ``padding counted in pooling``: the right hidden states, averaged over every position.
* ``CLS token``: the first position's hidden state, as BERT classifiers use it.
* ``pooler output``: BERT's pooler, ``tanh(W·h_CLS + b)``, when the weights have one.

Each vector is L2-normalised and compared with the right embedding by cosine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MISTAKES", "mask_mistakes"]

F32 = npt.NDArray[np.float32]
MISTAKES = ("mask ignored in attention", "padding counted in pooling", "CLS token",
            "pooler output")


def _unit(x: npt.NDArray[Any]) -> F32:
    x = np.asarray(x, np.float64)
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def _masked_mean(hidden: F32, mask: npt.NDArray[np.int64]) -> F32:
    m = mask[:, :, None].astype(np.float64)
    return _unit((hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9))


def mask_mistakes(
    encoder: Any, texts: Sequence[str], weights: Mapping[str, npt.NDArray[Any]] | None = None
) -> dict[str, F32]:
    """Cosine of each wrong embedding to the right one, per text (one padded batch).

    Args:
        encoder: a :class:`demos.models.Encoder` (``feeds`` and ``session``).
        texts: at least two texts of different lengths, so that the batch is padded.
        weights: the model's weights by name (``model_files().weights``) for the pooler;
            without ``pooler.dense.*`` the ``"pooler output"`` entry is left out.

    Returns:
        ``{mistake: float32 [len(texts)] cosines}``, in the order of :data:`MISTAKES`, plus
        ``"right (numpy pooling)"``: our pooling against the graph's, a check that is ~1.

    Raises:
        ValueError: if the batch has no padding (every mistake would then be invisible).
    """
    feeds = encoder.feeds(list(texts))
    mask = feeds["attention_mask"]
    if mask.all():
        raise ValueError(f"texts must differ in length so the batch is padded, "
                         f"got {len(texts)} texts of {mask.shape[1]} tokens each")
    names = ["last_hidden_state", "sentence_embedding"]
    hidden, right = encoder.session.run(names, feeds)
    unmasked, _ = encoder.session.run(names, {**feeds, "attention_mask": np.ones_like(mask)})
    variants = {
        "right (numpy pooling)": _masked_mean(hidden, mask),
        "mask ignored in attention": _masked_mean(unmasked, mask),
        "padding counted in pooling": _unit(hidden.mean(axis=1)),
        "CLS token": _unit(hidden[:, 0]),
    }
    if weights is not None and "pooler.dense.weight" in weights:
        w, b = (np.asarray(weights[f"pooler.dense.{k}"], np.float64) for k in ("weight", "bias"))
        variants["pooler output"] = _unit(np.tanh(hidden[:, 0].astype(np.float64) @ w.T + b))
    right = _unit(right)
    return {k: np.sum(v.astype(np.float64) * right, axis=1).astype(np.float32)
            for k, v in variants.items()}
