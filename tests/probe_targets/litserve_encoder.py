"""LitServe serving the real encoder with its batching on, for the probe to look at.

    PYTHONPATH=<litserve site> python tests/probe_targets/litserve_encoder.py --port 8124

A third-party framework, configured as its documentation shows: ``OpenAIEmbeddingSpec``
(``POST /v1/embeddings``), ``max_batch_size`` and ``batch_timeout`` on the LitAPI, the
model loaded in ``setup``. Nothing here is planted; what the probe finds is LitServe's.
Not run by the test suite (LitServe is not in the project's pins).
"""

from __future__ import annotations

import argparse
from typing import Any

import litserve as ls
import numpy as np

from demos.models import load_encoder


class EncoderAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.encoder = load_encoder(intra_op_threads=1)

    def decode_request(self, request: Any) -> str:
        """One text per request (LitServe's batching refuses more): the OpenAI client sends
        ``input=["text"]``, which the spec passes on as a list."""
        text = request.input
        return text[0] if isinstance(text, list) and len(text) == 1 else text

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(list(texts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    api = EncoderAPI(max_batch_size=16, batch_timeout=0.01, spec=ls.OpenAIEmbeddingSpec())
    ls.LitServer(api, accelerator="cpu").run(
        host="127.0.0.1", port=args.port, generate_client_file=False)
