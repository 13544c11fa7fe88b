"""Serve the broken or the fixed service for real and drive it over HTTP where the pitfalls bite.

``run(impl, **knobs) -> Report`` serves ``impl`` in its own uvicorn process on 127.0.0.1
(:func:`demos.service.server.serving`: a bounded start, a bounded stop) and sends three kinds
of request, each forced by construction, not by luck:

- **answers**: requests of ``2 × max_batch`` different texts, one after another, each answer
  compared with every text encoded alone (within 1e-6). A request's texts are queued
  together, so its batches run back to back; the broken batcher runs them on the event loop
  into one scratch buffer (chapter 4), and the first batch's rows show the last one's.
- **alone**: one text, alone, bounded by ``timeout_s``, with ``/readyz`` asked first. The
  broken batcher waits for a full batch (chapter 3) while its readiness, a constant, says 200.
- **malformed**: bodies a client gets wrong (:data:`MALFORMED`); each must get a 4xx naming
  its field, within ``timeout_s``. The broken service leaves validation to the model
  (chapter 5): 500s, and a text it should refuse waits in its batcher for company.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import httpx
import numpy as np

from demos import knobs
from demos.models import load_encoder, tiny_encoder
from demos.report import Report
from demos.service import engine
from demos.service.server import serving
from demos.service.settings import MODELS, Settings

__all__ = ["MALFORMED", "TEXTS", "describe", "run", "storm"]

PITFALL = "service"
MAX_BATCH = 2
TEXTS = ("The cat sits on the mat.", "A vector database stores embeddings.",
         "Gunicorn forks its workers after loading the app.", "Readiness is not liveness.")
#: (what is wrong, the body as sent): every one deserves a 4xx that names its field.
MALFORMED: tuple[tuple[str, bytes], ...] = (
    ("not JSON", b"{input: hi}"),
    ("invalid UTF-8", b'{"input": "\xff\xfe", "model": "%s"}'),
    ("no input", b'{"model": "%s"}'),
    ("a number as input", b'{"input": 5, "model": "%s"}'),
    ("an empty list", b'{"input": [], "model": "%s"}'),
    ("a number in the list", b'{"input": ["ok", 7], "model": "%s"}'),
    ("an empty string", b'{"input": ["ok", ""], "model": "%s"}'),
    ("an unknown model", b'{"input": "hi", "model": "gpt-4"}'),
)


def _impl(impl: Any) -> str:
    name = knobs.impl_name(impl)
    if getattr(impl, "__name__", "") not in ("demos.service.broken", "demos.service.fixed"):
        raise ValueError("impl must be demos.service.broken or demos.service.fixed (the server "
                         f"process imports it by name), got {getattr(impl, '__name__', impl)!r}")
    return name


def _wait_ready(url: str, client: httpx.Client, bound_s: float) -> None:
    deadline = time.monotonic() + bound_s
    while client.get(f"{url}/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}/readyz did not say 200 within {bound_s} s")
        time.sleep(0.05)


def _answers(url: str, client: httpx.Client, model_id: str, alone: np.ndarray,
             requests: int) -> int:
    """Texts answered with another text's vector (or not answered), over ``requests``."""
    wrong = 0
    for _ in range(requests):
        answer = client.post(f"{url}/v1/embeddings", json={"input": list(TEXTS),
                                                           "model": model_id})
        if answer.status_code != 200:
            wrong += len(TEXTS)
            continue
        got = np.array([d["embedding"] for d in answer.json()["data"]], dtype=np.float32)
        wrong += int((np.abs(got - alone).max(axis=1) > 1e-6).sum())
    return wrong


def _alone(url: str, client: httpx.Client, model_id: str, timeout_s: float) -> tuple[int, bool]:
    """(the /readyz status just before, whether one text alone was answered in time)."""
    ready = client.get(f"{url}/readyz").status_code
    try:
        answered = client.post(f"{url}/v1/embeddings", timeout=timeout_s,
                               json={"input": TEXTS[0], "model": model_id}).status_code == 200
    except httpx.TimeoutException:
        answered = False
    return ready, answered


def _malformed(url: str, model_id: str, timeout_s: float) -> list[int]:
    """Each MALFORMED body's status (0: no answer within ``timeout_s``), each on a fresh
    connection (a 500 may close one)."""
    statuses = []
    for _, body in MALFORMED:
        raw = body.replace(b"%s", model_id.encode())
        try:
            statuses.append(httpx.post(f"{url}/v1/embeddings", content=raw, timeout=timeout_s,
                                       headers={"content-type": "application/json"}).status_code)
        except httpx.TimeoutException:
            statuses.append(0)
    return statuses


def run(impl: ModuleType, *, model: str = "real", requests: int = 3,
        timeout_s: float = 3.0) -> Report:
    """Serve ``impl`` (``demos.service.broken`` or ``.fixed``) and drive it (see the module).

    Args:
        model: "real" (all-MiniLM-L6-v2) or "tiny" (random weights, for fast tests).
        requests: how many requests of :data:`TEXTS` the answers probe sends.
        timeout_s: the bound on the lone request (and its cost when it hangs).

    Returns:
        A Report that has ``manifested`` when a text got another text's vector, the lone
        text was not answered within ``timeout_s`` while /readyz said 200, or a malformed
        request got anything but a 4xx.
    """
    name = _impl(impl)
    knobs.choice("model", model, MODELS)
    knobs.integer("requests", requests, high=100)
    bound = knobs.seconds("timeout_s", timeout_s)
    encoder = load_encoder() if model == "real" else tiny_encoder()
    alone = encoder.encode(list(TEXTS))
    settings = Settings(model=model, max_batch=MAX_BATCH, drain_s=1.0)
    model_id = engine.model_id(settings)
    with serving(name, settings) as running, httpx.Client(timeout=30.0) as client:
        _wait_ready(running.url, client, 90.0)
        wrong = _answers(running.url, client, model_id, alone, requests)
        ready, answered = _alone(running.url, client, model_id, bound)
        statuses = _malformed(running.url, model_id, bound)
    not_4xx = [s for s in statuses if not 400 <= s < 500]
    lied = ready == 200 and not answered
    metrics = {"texts": requests * len(TEXTS), "wrong_vectors": wrong,
               "lone_answered": answered, "ready_while_unanswered": lied,
               "malformed": len(statuses), "malformed_not_4xx": len(not_4xx),
               "malformed_500": statuses.count(500), "timeout_s": bound,
               **{f"status: {what}": status for what, status in describe(statuses)}}
    manifested = bool(wrong or lied or not_4xx)
    parts = [f"{wrong} of {requests * len(TEXTS)} texts got another text's vector",
             "a lone text was " + ("answered" if answered else
                                   f"not answered within {bound:g} s")
             + f" while /readyz said {ready}",
             f"{len(statuses) - len(not_4xx)} of {len(statuses)} malformed requests got a 4xx"]
    return Report(PITFALL, name, manifested, "; ".join(parts), metrics)


def describe(statuses: list[int]) -> list[tuple[str, int]]:
    """MALFORMED's names beside the statuses one run got, for a table."""
    return [(what, status) for (what, _), status in zip(MALFORMED, statuses, strict=True)]



def storm(impl: ModuleType, *, model: str = "real", requests: int = 200, clients: int = 16,
          disconnect: float = 0.3) -> dict[str, int]:
    """``requests`` of two different texts each, from ``clients`` clients, a ``disconnect``
    share of them hung up mid-flight (:func:`demos.service.load.run`); then one more.

    One text a batch (``max_batch=1``): the broken batcher runs a request's two batches
    back to back on the loop into its one scratch buffer, so both rows of its answer show
    the last one. Returns counts: completed, right, wrong, hung up, and whether the
    request after the storm was answered right.
    """
    from demos.service import load

    name = _impl(impl)
    knobs.choice("model", model, MODELS)
    knobs.integer("requests", requests, high=5000)
    knobs.integer("clients", clients, high=256)
    encoder = load_encoder() if model == "real" else tiny_encoder()
    vectors = dict(zip(TEXTS, encoder.encode(list(TEXTS)), strict=True))
    bodies = [{"input": [TEXTS[i], TEXTS[(i + 1) % len(TEXTS)]]} for i in range(len(TEXTS))]
    settings = Settings(model=model, max_batch=1, drain_s=1.0)
    for body in bodies:
        body["model"] = engine.model_id(settings)
    with serving(name, settings) as running, httpx.Client(timeout=30.0) as client:
        _wait_ready(running.url, client, 90.0)
        with ThreadPoolExecutor(1) as pool:  # its own event loop: a notebook's is running
            result = pool.submit(load.run, running.url, bodies, clients=clients,
                                 requests=requests, disconnect=disconnect, hang_up_s=0.01,
                                 keep_answers=True).result()
        after = client.post(f"{running.url}/v1/embeddings", json=bodies[0])

    def right(answer: Any, body: dict[str, Any]) -> bool:
        got = np.array([d["embedding"] for d in answer["data"]], dtype=np.float32)
        want = np.stack([vectors[text] for text in body["input"]])
        return bool(np.abs(got - want).max() <= 1e-6)

    done = [o for o in result.outcomes if o.status == 200]
    good = sum(right(o.answer, bodies[o.index % len(bodies)]) for o in done)
    return {"requests": requests, "completed": len(done), "right": good,
            "wrong": len(done) - good, "hung_up": sum(o.hung_up for o in result.outcomes),
            "after_right": int(after.status_code == 200 and right(after.json(), bodies[0]))}
