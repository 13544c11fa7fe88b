"""Chapter 7 on Ray Serve: the fixed service as a deployment, over real HTTP, on the pinned Ray.

One local Ray cluster (2 CPUs, one replica) serves every test of this module: starting Ray is
the cost. A request gate (a file the replica's model call waits for) holds a batch by
construction, so batching and the cancellation storm happen in every run, not by luck.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import psutil
import pytest
import ray
from ray import serve

from demos.service.ray_app import APP_NAME, serving_on_ray
from demos.service.settings import Settings

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["The cat sat on the mat.", "Inference code goes wrong in production.",
         "Ray Serve batches requests from many clients into one model call.",
         "short", "A longer sentence, so that rows in one batch have different lengths "
         "and padding must not change any of them."]
MAX_BATCH = 4
#: A bound on every wait in this module (the machine may be loaded; nothing waits longer).
BOUND_S = 60.0


class Cluster:
    """The module's running deployment: its URL, the gate file, and a handle for its stats."""

    def __init__(self, url: str, gate: Path) -> None:
        self.url, self.gate = url, gate
        self.handle = serve.get_deployment_handle("Embedder", app_name=APP_NAME)

    def stats(self) -> dict[str, Any]:
        return self.handle.stats.remote().result(timeout_s=BOUND_S)

    def wait_for(self, what: str, test: Any) -> dict[str, Any]:
        deadline = time.monotonic() + BOUND_S
        while True:
            stats = self.stats()
            if test(stats):
                return stats
            assert time.monotonic() < deadline, f"not within {BOUND_S} s: {what}; stats {stats}"
            time.sleep(0.05)


def _ray_processes() -> set[str]:
    """Names of this process's descendants: what the no_leaks fixture looks at."""
    names = set()
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            names.add(process.name())
    return names


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    gate = tmp_path_factory.mktemp("ray") / "gate"
    gate.touch()  # open: requests pass; a test removes it to hold the next batch
    settings = Settings(model="real", max_batch=MAX_BATCH, max_wait_s=0.005,
                        request_gate=str(gate), gate_bound_s=BOUND_S, deadline_s=BOUND_S)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with serving_on_ray(settings, replicas=1, num_cpus=2) as url:
        running = Cluster(url, gate)
        running.stats()  # the handle's router starts here, before any test's leak check
        yield running
    port = int(url.rsplit(":", 1)[1])
    # Nothing left behind: no descendant process (the leak fixture's view), no listener.
    left = [p.name() for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not left, f"Ray left processes behind: {left}"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still accepts"
    assert not ray.is_initialized()


def _post(url: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/v1/embeddings", content=content, timeout=BOUND_S,
                      headers={"content-type": "application/json"}, **kwargs)


def test_the_leak_fixture_sees_rays_processes(cluster):
    names = _ray_processes()
    assert {"gcs_server", "raylet"} <= names, names
    assert any(name.startswith("ray::ServeReplica") for name in names), names


def test_embeddings_over_http_equal_each_text_encoded_alone_in_input_order(cluster, encoder):
    response = _post(cluster.url, {"input": TEXTS, "model": MODEL})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["index"] for item in body["data"]] == list(range(len(TEXTS)))
    got = np.array([item["embedding"] for item in body["data"]], dtype=np.float32)
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(got, alone, rtol=0, atol=1e-6)
    assert body["model"] == MODEL and body["usage"]["prompt_tokens"] > len(TEXTS)


def test_concurrent_clients_are_batched_by_ray_and_each_gets_its_own_vector(cluster, encoder):
    """The gate holds the first batch, so the other requests queue in Ray's batcher and
    leave it together: batches of several requests from different clients, every run."""
    cluster.gate.unlink()
    count = 2 * MAX_BATCH
    sizes_before = len(cluster.stats()["batch_sizes"])

    async def clients() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            tasks = [asyncio.create_task(client.post(
                f"{cluster.url}/v1/embeddings", json={"input": TEXTS[i % len(TEXTS)],
                                                      "model": MODEL}))
                for i in range(count)]
            await asyncio.to_thread(cluster.wait_for, f"{count} rows in Ray's batcher",
                                    lambda s: s["pending"] == count and s["held"] == 1)
            cluster.gate.touch()
            return await asyncio.gather(*tasks)

    try:
        responses = asyncio.run(clients())
    finally:
        cluster.gate.touch()
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        vector = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
        np.testing.assert_allclose(vector, encoder.encode([TEXTS[i % len(TEXTS)]])[0],
                                   rtol=0, atol=1e-6)
    sizes = cluster.stats()["batch_sizes"][sizes_before:]
    assert sum(sizes) == count and max(sizes) > 1, sizes


def test_the_official_openai_client_works_against_the_deployment(cluster, encoder):
    with openai.OpenAI(base_url=f"{cluster.url}/v1", api_key="unused", max_retries=0,
                       timeout=BOUND_S) as client:
        assert [m.id for m in client.models.list()] == [MODEL]
        result = client.embeddings.create(model=MODEL, input=TEXTS[:3])
        with pytest.raises(openai.BadRequestError, match="input: expected at least one"):
            client.embeddings.create(model=MODEL, input=[])
    got = np.array([item.embedding for item in result.data], dtype=np.float32)
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS[:3]])
    np.testing.assert_allclose(got, alone, rtol=0, atol=1e-6)


MALFORMED = [
    ({"model": MODEL}, 400, "input", "nothing (the field is missing)"),
    ({"input": [], "model": MODEL}, 400, "input", "an empty list"),
    ({"input": 42, "model": MODEL}, 400, "input", "int 42"),
    ({"input": ["ok", 7], "model": MODEL}, 400, "input[1]", "int 7"),
    ({"input": "hi"}, 400, "model", "nothing (the field is missing)"),
    ({"input": "hi", "model": "gpt-4"}, 404, "model", "'gpt-4'"),
    ({"input": "hi", "model": MODEL, "encoding_format": "int8"}, 400, "encoding_format",
     "str 'int8'"),
    ({"input": "hi", "model": MODEL, "dimensions": 1536}, 400, "dimensions", "int 1536"),
    ({"input": "word " * 600, "model": MODEL}, 413, "input[0]", "tokens"),
    (b"{not json", 400, "body", "invalid JSON"),
    (b'{"input": "\xff\xfe", "model": "x"}', 400, "body", "invalid UTF-8"),
]


@pytest.mark.parametrize(("body", "status", "param", "received"), MALFORMED,
                         ids=[f"{m[2]}-{m[1]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_requests_get_a_4xx_in_openais_shape_naming_the_field(
        cluster, body, status, param, received):
    response = _post(cluster.url, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert error["message"].startswith(f"{param}: expected ") and received in error["message"]


def test_after_a_storm_of_client_disconnects_rays_batcher_still_serves(cluster, encoder):
    """Chapter 3's storm against ``@serve.batch`` (ray#41199, ray#50046), observed.

    Every client disconnects while its request is in Ray's batcher: one batch is running
    (held at the gate: its futures are cancelled mid-batch, where a ``set_result`` on a
    cancelled future ended the batching loop before ray#41199), the others wait in the
    queue (cancelled before their batch runs: ray#50046). Then the gate opens, and a new
    request must be answered, correctly, within the bound.

    The threads: ray#41199 is the pull request (merged 2023-11) that closed ray#41057, "set
    a result only on futures not cancelled"; ray#50046 is the issue (closed) that pull
    request ray#50054 (merged 2025-01) fixed by keeping a cancelled batched request's body
    and dropping cancelled requests from a batch before it runs. Observed on the pin: fixed.
    """
    storm = 3 * MAX_BATCH
    cancelled_before = cluster.stats()["cancelled"]
    cluster.gate.unlink()

    async def disconnecting_clients() -> None:
        async with httpx.AsyncClient(timeout=BOUND_S) as client:
            tasks = [asyncio.create_task(client.post(
                f"{cluster.url}/v1/embeddings", json={"input": TEXTS[i % len(TEXTS)],
                                                      "model": MODEL}))
                for i in range(storm)]
            await asyncio.to_thread(cluster.wait_for, f"{storm} rows in Ray's batcher",
                                    lambda s: s["pending"] == storm and s["held"] == 1)
            for task in tasks:
                task.cancel()  # the client goes away: httpx closes its connection
            await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(disconnecting_clients())
        seen = cluster.wait_for("Ray cancelled every disconnected request",
                                lambda s: s["cancelled"] - cancelled_before == storm)
        assert seen["pending"] == 0 and seen["held"] == 1, seen  # the batch still runs
    finally:
        cluster.gate.touch()
    cluster.wait_for("the held batch ends", lambda s: s["held"] == 0)
    start = time.monotonic()
    response = _post(cluster.url, {"input": TEXTS[1], "model": MODEL})
    took = time.monotonic() - start
    assert response.status_code == 200, f"after the storm, on Ray {ray.__version__}: " \
                                         f"{response.status_code} {response.text}"
    vector = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
    np.testing.assert_allclose(vector, encoder.encode([TEXTS[1]])[0], rtol=0, atol=1e-6)
    assert took < BOUND_S
    assert cluster.stats()["batching_alive"], f"Ray {ray.__version__}: batching loop died"


def test_the_replica_passes_its_own_health_check_and_serve_reports_it_healthy(cluster):
    """``check_health`` runs a real inference and checks Ray's batching loop; here it
    passes (it returns None), and Serve's controller reports the deployment HEALTHY."""
    assert cluster.handle.check_health.remote().result(timeout_s=BOUND_S) is None
    status = serve.status().applications[APP_NAME]
    assert str(status.status).endswith("RUNNING"), status
    assert str(status.deployments["Embedder"].status).endswith("HEALTHY"), status


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)  # gRPC's ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def test_every_server_of_the_cluster_listens_on_loopback_only(cluster):
    """GCS, raylet, object manager, agents, core workers, Serve's proxy, controller and
    replica (its inter-deployment gRPC server, which Serve 2.60 binds to ``[::]``): every
    listening socket of this process and of Ray's processes, on 127.0.0.1 (or ::1) only."""
    processes = {p.pid: p for p in psutil.Process().children(recursive=True)}
    processes[psutil.Process().pid] = psutil.Process()
    listening = []
    for connection in psutil.net_connections(kind="inet"):
        if connection.status == psutil.CONN_LISTEN and connection.pid in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                listening.append((processes[connection.pid].name(), connection.laddr.ip,
                                  connection.laddr.port))
    names = {name for name, _, _ in listening}
    assert {"gcs_server", "raylet", "ray::ProxyActor"} <= names, listening  # we see them
    assert any(name.startswith("ray::ServeReplica") for name in names), listening
    elsewhere = [item for item in listening if not _loopback(item[1])]
    assert not elsewhere, f"listening beyond loopback: {elsewhere}; all: {listening}"
