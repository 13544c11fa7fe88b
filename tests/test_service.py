"""Chapter 7's core: the broken and fixed embedding services, served for real and driven over HTTP.

Every server runs in its own process on 127.0.0.1 (demos.service.server.serving), started and
stopped within bounds. The fixed service on the real model is started once for this module;
cases that need other settings (a gate that holds requests, a small queue, the tiny model)
start their own. Broken behaviour is forced by construction: a request gate (a file the test
creates) holds requests exactly where the pitfall bites.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from tokenizers import Tokenizer

from demos.models import tiny_encoder
from demos.service import load
from demos.service.server import Running, serving
from demos.service.settings import Settings

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["The cat sits on the mat.", "A vector database stores embeddings.",
         "Gunicorn forks its workers after loading the app."]
#: About 480 word pieces: past the model's 256, so truncation and its direction matter.
LONG = " ".join(f"sentence {i} talks about topic {i % 7}." for i in range(60))
BOUND_S = 30.0  # any wait on a server; a regression fails within it instead of hanging


# --- helpers ------------------------------------------------------------------------------

def wait_ready(url: str, bound_s: float = 60.0) -> None:
    """Poll /readyz until it says 200 (TimeoutError after ``bound_s``)."""
    deadline = time.monotonic() + bound_s
    with httpx.Client(timeout=5.0) as client:
        while client.get(f"{url}/readyz").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/readyz did not say 200 within {bound_s} s")
            time.sleep(0.05)


def held(url: str) -> int:
    """Requests waiting at the request gate, read from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5.0).text
    return int(float(re.search(r"^embedding_service_requests_held (\S+)$", text, re.M)[1]))


def wait_held(url: str, count: int) -> None:
    deadline = time.monotonic() + BOUND_S
    while held(url) != count:
        assert time.monotonic() < deadline, f"{count} requests never reached the gate"
        time.sleep(0.01)


def post(url: str, body: object, *, timeout: float = BOUND_S) -> httpx.Response:
    """One request on a fresh connection (a broken server may close it after a 500)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/v1/embeddings", content=content, timeout=timeout,
                      headers={"content-type": "application/json"})


def vectors(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [item["index"] for item in data] == list(range(len(data)))
    return np.array([item["embedding"] for item in data], dtype=np.float32)


def truncated(encoder, direction: str):
    """``encoder`` with its own tokenizer truncating from ``direction``: the oracle."""
    tokenizer = Tokenizer.from_str(encoder.tokenizer.to_str())
    tokenizer.enable_truncation(encoder.max_seq_length, direction=direction)
    return dataclasses.replace(encoder, tokenizer=tokenizer)


async def _stall(url: str, model: str) -> tuple[float, float]:
    """(seconds one heavy request took, the longest /healthz wait meanwhile)."""
    body = {"input": [f"{i} {LONG}" for i in range(8)], "model": model, "truncate": True}
    async with httpx.AsyncClient(timeout=BOUND_S) as client:
        start = time.perf_counter()
        heavy = asyncio.create_task(client.post(f"{url}/v1/embeddings", json=body))
        longest = 0.0
        while not heavy.done():
            t = time.perf_counter()
            assert (await client.get(f"{url}/healthz")).status_code == 200
            longest = max(longest, time.perf_counter() - t)
        assert (await heavy).status_code == 200
        return time.perf_counter() - start, longest


def race(url: str, model: str) -> list[httpx.Response]:
    """Two requests for LONG, truncated right and left, held together at the gate, released."""
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            sent = [asyncio.create_task(client.post(f"{url}/v1/embeddings", json={
                "input": [LONG], "model": model, "truncate": True,
                "truncation_direction": direction})) for direction in ("right", "left")]
            await asyncio.to_thread(wait_held, url, 2)
            open_gate(url)
            return list(await asyncio.gather(*sent))
    return asyncio.run(main())


#: The request gate of each server the ``gated`` fixture started, by URL.
GATES: dict[str, Path] = {}


def open_gate(url: str) -> None:
    GATES[url].touch()


@pytest.fixture(scope="module")
def fixed_real() -> Iterator[Running]:
    """The fixed service on the real model, ready, for the whole module."""
    with serving("fixed", Settings(model="real", max_batch=16)) as running:
        wait_ready(running.url)
        yield running


@pytest.fixture(scope="module")
def broken_real() -> Iterator[Running]:
    """The broken service on the real model; its batcher waits for 2 texts.

    Its last test leaves a request stuck in the batcher, which holds uvicorn's graceful
    shutdown: a short drain_s bounds that (uvicorn waits drain_s + 2 s, then closes it).
    """
    with serving("broken", Settings(model="real", max_batch=2, drain_s=1.0)) as running:
        yield running


@pytest.fixture
def gated(tmp_path: Path):
    """Start a tiny-model server whose requests wait at a gate file until the test opens it."""
    stack: list = []

    def start(impl: str, **settings) -> Running:
        gate = tmp_path / f"gate-{len(stack)}"
        manager = serving(impl, Settings(model="tiny", request_gate=str(gate), **settings))
        running = manager.__enter__()
        stack.append((manager, gate))
        GATES[running.url] = gate
        wait_ready(running.url, BOUND_S)
        return running

    yield start
    for manager, gate in reversed(stack):
        gate.touch()  # release whatever still waits, then stop
        manager.__exit__(None, None, None)


# --- the fixed service, real model, through the official OpenAI client -------------------

@pytest.mark.parametrize("encoding", ["float", "base64", None])
def test_fixed_service_answers_the_openai_client_with_the_encoders_embeddings(
        fixed_real, encoder, encoding):
    with openai.OpenAI(base_url=f"{fixed_real.url}/v1", api_key="unused", max_retries=0,
                       timeout=BOUND_S) as client:
        extra = {} if encoding is None else {"encoding_format": encoding}
        answer = client.embeddings.create(model=MODEL, input=TEXTS, **extra)
    got = [np.frombuffer(base64.b64decode(d.embedding), dtype="<f4")
           if isinstance(d.embedding, str) else np.array(d.embedding, dtype=np.float32)
           for d in answer.data]
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(np.stack(got), alone, rtol=0, atol=1e-6)
    assert answer.model == MODEL and answer.usage.prompt_tokens == answer.usage.total_tokens > 0


MALFORMED = [  # (id, body, status, param, what the message must quote of the received value)
    ("not-json", b"{input: hi}", 400, "body", "invalid JSON"),
    ("invalid-utf8", b'{"input": "\xff\xfe", "model": "m"}', 400, "body", "invalid UTF-8"),
    ("not-an-object", [1, 2], 400, "body", "list [1, 2]"),
    ("nested-100000-deep", b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "body",
     "nested deeper"),
    ("missing-input", {"model": MODEL}, 400, "input", "the field is missing"),
    ("number-input", {"input": 5, "model": MODEL}, 400, "input", "int 5"),
    ("null-input", {"input": None, "model": MODEL}, 400, "input", "NoneType None"),
    ("empty-list", {"input": [], "model": MODEL}, 400, "input", "an empty list"),
    ("number-in-list", {"input": ["ok", 7], "model": MODEL}, 400, "input[1]", "int 7"),
    ("token-array", {"input": [[101, 102]], "model": MODEL}, 400, "input[0]", "list [101, 102]"),
    ("empty-string", {"input": ["ok", ""], "model": MODEL}, 400, "input[1]", "''"),
    ("lone-surrogate", {"input": ["ok", "a \ud800 b"], "model": MODEL}, 400, "input[1]",
     "lone surrogate at character 2"),
    ("one-megabyte", {"input": "x" * 1_000_000, "model": MODEL}, 413, "input",
     "1000000 characters"),
    ("10000-inputs", {"input": ["a"] * 10_000, "model": MODEL}, 413, "input", "10000 strings"),
    ("missing-model", {"input": "hi"}, 400, "model", "the field is missing"),
    ("unknown-model", {"input": "hi", "model": "gpt-4"}, 404, "model", "'gpt-4'"),
    ("bad-encoding", {"input": "hi", "model": MODEL, "encoding_format": "int8"}, 400,
     "encoding_format", "str 'int8'"),
    ("truncate-not-bool", {"input": "hi", "model": MODEL, "truncate": "yes"}, 400, "truncate",
     "str 'yes'"),
    ("bad-direction", {"input": "hi", "model": MODEL, "truncate": True,
                       "truncation_direction": "middle"}, 400, "truncation_direction",
     "str 'middle'"),
    ("bad-dimensions", {"input": "hi", "model": MODEL, "dimensions": 512}, 400, "dimensions",
     "int 512"),
    ("too-many-tokens", {"input": [LONG], "model": MODEL}, 413, "input[0]", "tokens"),
]


@pytest.mark.parametrize("body, status, param, received", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_fixed_service_answers_a_malformed_request_with_a_4xx_naming_field_expected_received(
        fixed_real, body, status, param, received):
    response = post(fixed_real.url, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert error["message"].startswith(f"{param}: expected "), error["message"]
    assert ", received " in error["message"] and received in error["message"], error["message"]


def test_fixed_service_still_serves_after_malformed_requests(fixed_real, encoder):
    for _, body, *_ in MALFORMED[:6]:
        assert 400 <= post(fixed_real.url, body).status_code < 500
    got = vectors(post(fixed_real.url, {"input": TEXTS[0], "model": MODEL}))
    np.testing.assert_allclose(got[0], encoder.encode([TEXTS[0]])[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("direction", ["right", "left"])
def test_fixed_service_truncates_a_request_in_the_direction_it_asks(fixed_real, encoder,
                                                                     direction):
    got = vectors(post(fixed_real.url, {"input": [LONG], "model": MODEL, "truncate": True,
                                        "truncation_direction": direction}))
    want = truncated(encoder, direction).encode([LONG])
    other = truncated(encoder, {"right": "left", "left": "right"}[direction]).encode([LONG])
    assert np.abs(want - other).max() > 1e-2, "LONG must be long enough for direction to matter"
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_fixed_service_ready_means_a_lone_request_is_served(fixed_real):
    assert httpx.get(f"{fixed_real.url}/readyz", timeout=5.0).status_code == 200
    assert post(fixed_real.url, {"input": "alone", "model": MODEL}, timeout=BOUND_S).status_code \
        == 200


def test_fixed_service_exports_prometheus_metrics(fixed_real):
    post(fixed_real.url, {"input": TEXTS, "model": MODEL})
    text = httpx.get(f"{fixed_real.url}/metrics", timeout=5.0).text
    for pattern in (r'embedding_service_requests_total\{path="/v1/embeddings",status="200"\} [1-9]',
                    r'embedding_service_requests_total\{path="/v1/embeddings",status="4\d\d"\}',
                    r'embedding_service_request_seconds_bucket\{le="0.1",path="/v1/embeddings"\}',
                    r"embedding_service_batch_size_count [1-9]",
                    r"embedding_service_queue_depth 0.0"):
        assert re.search(pattern, text), f"/metrics lacks {pattern}"


def test_fixed_service_answers_healthz_while_an_embedding_runs(fixed_real):
    took, longest = asyncio.run(_stall(fixed_real.url, MODEL))
    assert longest < 0.5 * took, (
        f"/healthz waited {longest:.3f} s while one request took {took:.3f} s: the loop stalled")


def test_load_generator_sends_every_request_and_times_each(fixed_real):
    bodies = [{"input": text, "model": MODEL} for text in TEXTS]
    result = load.run(fixed_real.url, bodies, clients=8, requests=40, timeout_s=BOUND_S)
    assert result.statuses() == {200: 40} and len(result.outcomes) == 40
    assert 0 < result.latency(50) <= result.latency(99) and result.throughput() > 0


def test_load_generator_refuses_a_server_off_this_machine():
    with pytest.raises(ValueError, match=r"^url must be on this machine \(one of \('127.0.0.1', "
                                         r"'localhost', '::1'\)\), got host 'example.com'$"):
        load.run("http://example.com", [{"input": "x"}])


# --- the broken service, real model -------------------------------------------------------

def test_broken_service_blocks_healthz_while_an_embedding_runs(broken_real):
    took, longest = asyncio.run(_stall(broken_real.url, MODEL))
    assert longest >= 0.5 * took, (
        f"/healthz waited {longest:.3f} s of the request's {took:.3f} s: the loop was free")


@pytest.mark.parametrize("body", [{"model": MODEL}, {"input": 5, "model": MODEL},
                                  {"input": [1, 2], "model": MODEL}],
                         ids=["missing-input", "number-input", "numbers-in-list"])
def test_broken_service_answers_a_malformed_request_with_a_500(broken_real, body):
    response = post(broken_real.url, body)
    assert response.status_code == 500, response.text
    assert "error" not in response.text, "OpenAI's error shape: not from the broken service"


def test_both_services_list_their_model_for_the_openai_client(fixed_real, broken_real):
    """The same API on both: /v1/models is not a lesson, so it is no fixed_ or broken_ test."""
    for running in (fixed_real, broken_real):
        with openai.OpenAI(base_url=f"{running.url}/v1", api_key="unused", max_retries=0,
                           timeout=BOUND_S) as client:
            assert [m.id for m in client.models.list()] == [MODEL]


def test_broken_service_says_ready_while_a_lone_request_is_not_served(broken_real):
    """Last of the broken_real tests: the lone text stays queued in its batcher."""
    assert httpx.get(f"{broken_real.url}/readyz", timeout=5.0).status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        post(broken_real.url, {"input": "alone", "model": MODEL}, timeout=3.0)


# --- readiness, the queue, the deadline, the drain: tiny model, their own servers ---------

def test_fixed_readiness_is_503_until_a_warm_up_inference_succeeds(tmp_path):
    gate = tmp_path / "warm"
    with serving("fixed", Settings(model="tiny", warmup_gate=str(gate))) as running:
        ready = httpx.get(f"{running.url}/readyz", timeout=5.0)
        assert ready.status_code == 503 and "warming up" in ready.json()["reason"], ready.text
        refused = post(running.url, {"input": "hi", "model": "tiny-bert"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "not_ready"
        gate.touch()
        wait_ready(running.url, BOUND_S)
        assert post(running.url, {"input": "hi", "model": "tiny-bert"}).status_code == 200


def test_fixed_queue_is_bounded_and_answers_503_with_retry_after(gated):
    running = gated("fixed", max_queue=2)

    async def main() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            first = asyncio.create_task(client.post(f"{running.url}/v1/embeddings",
                                                    json={"input": "a", "model": "tiny-bert"}))
            await asyncio.to_thread(wait_held, running.url, 1)  # 1 text queued of 2
            over = await client.post(f"{running.url}/v1/embeddings", timeout=5.0,
                                     json={"input": ["b", "c"], "model": "tiny-bert"})
            open_gate(running.url)
            return over, await first

    over, first = asyncio.run(main())
    assert over.status_code == 503 and over.headers["retry-after"] == "1", over.text
    assert over.json()["error"]["code"] == "queue_full" and first.status_code == 200


def test_broken_queue_takes_every_request_however_many_wait(gated):
    running = gated("broken", max_queue=2, max_batch=1)

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            sent = [asyncio.create_task(client.post(f"{running.url}/v1/embeddings", json={
                "input": texts, "model": "tiny-bert"})) for texts in (["a"], ["b", "c"])]
            await asyncio.to_thread(wait_held, running.url, 2)  # both taken, none refused
            open_gate(running.url)
            return list(await asyncio.gather(*sent))

    assert [r.status_code for r in asyncio.run(main())] == [200, 200]


def test_fixed_request_past_its_deadline_gets_a_504(gated):
    running = gated("fixed", deadline_s=0.5)
    response = post(running.url, {"input": "held", "model": "tiny-bert"}, timeout=10.0)
    assert response.status_code == 504, response.text
    assert response.json()["error"]["code"] == "deadline_exceeded"


def test_fixed_service_drains_on_sigterm(gated):
    running = gated("fixed", drain_s=10.0)

    async def main() -> tuple[httpx.Response, httpx.Response, httpx.Response, int]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            inflight = asyncio.create_task(client.post(f"{running.url}/v1/embeddings", json={
                "input": "in flight", "model": "tiny-bert"}))
            await asyncio.to_thread(wait_held, running.url, 1)
            os.kill(running.pid, signal.SIGTERM)
            ready = await client.get(f"{running.url}/readyz")
            stop_polling = time.monotonic() + 10.0  # readiness must turn 503 within this
            while ready.status_code == 200 and time.monotonic() < stop_polling:
                ready = await client.get(f"{running.url}/readyz")
            # A second later, with a request still in flight, the server must still be
            # there to say 503: a server that stopped listening at SIGTERM (and only waits
            # for the connections it has) leaves a late client unanswered instead.
            await asyncio.sleep(1.0)
            try:
                new = await client.post(f"{running.url}/v1/embeddings", json={
                    "input": "new", "model": "tiny-bert"}, timeout=5.0)
            except httpx.TransportError as error:
                new = httpx.Response(599, text=f"no answer 1 s after SIGTERM: {error!r}")
            still_held = await asyncio.to_thread(held, running.url)
            open_gate(running.url)
            answered = await inflight
            code = await asyncio.to_thread(running.process.wait, 15.0)
            return ready, new, answered, (still_held, code)

    ready, new, answered, (still_held, code) = asyncio.run(main())
    assert ready.status_code == 503 and "draining" in ready.json()["reason"], ready.text
    assert new.status_code == 503 and new.headers["retry-after"] == "1", new.text
    assert still_held == 1, "the in-flight request was dropped before the gate opened"
    assert answered.status_code == 200, answered.text
    assert code in (0, -signal.SIGTERM), f"exit code {code}"


def test_fixed_service_fails_only_the_failing_batch_naming_the_cause(gated):
    """Two requests released together, one text a batch: only the faulty one's batch fails."""
    running = gated("fixed", max_batch=1, fault_text="boom")

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            sent = [asyncio.create_task(client.post(f"{running.url}/v1/embeddings", json={
                "input": text, "model": "tiny-bert"})) for text in ("boom", "fine")]
            await asyncio.to_thread(wait_held, running.url, 2)
            open_gate(running.url)
            return list(await asyncio.gather(*sent))

    failed, fine = asyncio.run(main())
    assert failed.status_code == 500, failed.text
    assert failed.json()["error"]["message"] == ("the model failed on this request's batch: "
                                                 "RuntimeError: planted fault: a batch "
                                                 "holding 'boom'")
    assert fine.status_code == 200, fine.text  # its own batch, at the same time
    assert post(running.url, {"input": "next", "model": "tiny-bert"}).status_code == 200


def test_broken_service_serves_nothing_after_one_failing_batch_and_still_says_ready():
    settings = Settings(model="tiny", max_batch=1, fault_text="boom", drain_s=1.0)
    with serving("broken", settings) as running:
        for text in ("boom", "fine"):  # the batching task died on the first: nobody answers
            with pytest.raises(httpx.ReadTimeout):
                post(running.url, {"input": text, "model": "tiny-bert"}, timeout=2.0)
        assert httpx.get(f"{running.url}/readyz", timeout=5.0).status_code == 200


# --- truncation under concurrency: chapter 6 in a service ---------------------------------

def _truncation_race(gated, impl: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    running = gated(impl, max_batch=2)
    got = [vectors(r)[0] for r in race(running.url, "tiny-bert")]
    tiny = tiny_encoder()
    want = [truncated(tiny, d).encode([LONG])[0] for d in ("right", "left")]
    assert np.abs(want[0] - want[1]).max() > 1e-3, "the two directions must differ"
    return got, want


def test_fixed_service_keeps_each_requests_truncation_under_concurrency(gated):
    got, want = _truncation_race(gated, "fixed")
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=0, atol=1e-6)


def test_broken_service_leaks_one_requests_truncation_into_another(gated):
    got, want = _truncation_race(gated, "broken")
    wrong = [float(np.abs(g - w).max()) > 1e-3 for g, w in zip(got, want, strict=True)]
    assert sum(wrong) >= 1, "both answers matched their own truncation: no leak"


# --- the server runner and the CLI -------------------------------------------------------

def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_serving_with_two_gunicorn_workers_answers_and_leaves_nothing_behind():
    with serving("fixed", Settings(model="tiny"), workers=2) as running:
        deadline = time.monotonic() + BOUND_S
        # each worker warms up on its own: one may refuse (503, Retry-After) while another is ready
        while (answer := post(running.url, {"input": "hi", "model": "tiny-bert"})).status_code \
                != 200:
            assert answer.status_code == 503 and "retry-after" in answer.headers, answer.text
            assert time.monotonic() < deadline, "no worker became ready"
            time.sleep(0.05)
        port = int(running.url.rsplit(":", 1)[1])
    assert running.process.returncode is not None and _port_is_free(port)


def test_serve_command_says_where_it_listens_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "demos", "serve", "--port", "0", "--set", "model='tiny'"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        line = process.stdout.readline().decode()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)[0]
        wait_ready(url, BOUND_S)
        process.send_signal(signal.SIGTERM)
        assert process.wait(BOUND_S) in (0, -signal.SIGTERM)
        assert _port_is_free(int(url.rsplit(":", 1)[1]))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(BOUND_S)
        process.stdout.close()


# --- bad arguments: clear errors, no server needed ----------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("model", "big", r"^model must be one of \('real', 'tiny'\), got 'big'$"),
    ("max_queue", 0, r"^max_queue must be an int >= 1, got 0$"),
    ("max_batch", True, r"^max_batch must be an int >= 1, got True$"),
    ("deadline_s", 0, r"^deadline_s must be a finite number > 0, got 0$"),
    ("drain_s", float("inf"), r"^drain_s must be a finite number > 0, got inf$"),
    ("request_gate", None, r"^request_gate must be a str \(or empty\), got None$"),
])
def test_service_settings_refuse_a_bad_value_naming_it(field, value, message):
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})


def test_service_runner_refuses_an_unknown_implementation_and_a_bad_worker_count():
    from demos.service import server, settings

    with pytest.raises(ValueError, match=r"^impl must be one of \('broken', 'fixed'\), got 'x'$"):
        settings.to_env("x", Settings())
    with pytest.raises(ValueError, match=r"^workers must be an int >= 1, got 0$"):
        server.command(3, workers=0)
    with pytest.raises(ValueError, match=r"^DEMOS_SERVICE: unknown settings \['threads'\]; "):
        settings.from_env({"DEMOS_SERVICE": '{"impl": "fixed", "threads": 2}'})


def test_serve_command_refuses_an_unknown_setting(capsys):
    from demos.__main__ import main

    assert main(["serve", "--port", "0", "--set", "threads=2"]) == 2
    assert "unexpected keyword argument 'threads'" in capsys.readouterr().err


# --- the chapter's scenario: what the notebook and `python -m demos run service` show ----

@pytest.mark.parametrize("requests", [1, 2])
def test_broken_service_scenario_manifests_wrong_vectors_a_lying_readyz_and_500s(requests):
    from demos.service import broken, scenario

    report = scenario.run(broken, model="tiny", requests=requests, timeout_s=1.0)
    assert report.manifested and report.impl == "broken"
    m = report.metrics
    assert m["wrong_vectors"] == 2 * requests, m  # a request's first batch shows its second
    assert m["ready_while_unanswered"] and not m["lone_answered"], m
    assert m["malformed_500"] >= 1 and m["malformed_not_4xx"] >= 1, m


def test_fixed_service_scenario_holds():
    from demos.service import fixed, scenario

    report = scenario.run(fixed, model="tiny", requests=2, timeout_s=5.0)
    assert not report.manifested, report.headline
    m = report.metrics
    assert m["wrong_vectors"] == 0 and m["lone_answered"] and m["malformed_not_4xx"] == 0, m


def test_service_scenario_refuses_a_bad_knob_naming_it():
    from demos.service import fixed, scenario

    with pytest.raises(ValueError, match=r"^model must be one of 'real', 'tiny', got 'big'$"):
        scenario.run(fixed, model="big")
    with pytest.raises(ValueError, match=r"^requests must be an int from 1 to 100, got 0$"):
        scenario.run(fixed, requests=0)
    with pytest.raises(ValueError, match=r"^impl must be demos\.service\.broken or "):
        scenario.run(scenario)
