"""Throughput and p99 of the Ray Serve deployment with 1 and 2 replicas, over loopback HTTP.

    python -m demos.service.ray_bench [--clients 1 8 32] [--requests 200] [--replicas 1 2]

Each client sends one text per request, back to back, until the round's requests are
sent; every request and every round is bounded. The two replica counts run one after the
other on the same machine, each on a fresh local cluster; the ratios printed compare them.
A benchmark, never a timed test: the numbers depend on the machine and its load.
"""

import argparse
import asyncio
import time
from typing import Any

import httpx
import numpy as np

from demos.service.ray_app import serving_on_ray
from demos.service.settings import Settings

__all__ = ["load", "main", "measure"]

TEXTS = ["The cat sat on the mat.", "Inference code goes wrong in production.",
         "Ray Serve batches requests from many clients into one model call.",
         "A longer sentence about embeddings, vector search and the latency of a service "
         "that answers many clients at once."]


async def load(url: str, clients: int, requests: int, bound_s: float = 120.0,
               ) -> dict[str, float]:
    """``requests`` requests from ``clients`` concurrent clients: throughput, p50, p99."""
    latencies: list[float] = []
    errors = 0
    sent = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal sent, errors
        while sent < requests:
            sent += 1
            start = time.perf_counter()
            response = await http.post(f"{url}/v1/embeddings", json={
                "input": TEXTS[sent % len(TEXTS)], "model": "all-MiniLM-L6-v2"})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(client(http) for _ in range(clients))),
                               bound_s)
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1e3
    return {"clients": clients, "requests": requests, "errors": errors,
            "throughput_rps": len(latencies) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def measure(replicas: int, clients: list[int], requests: int) -> list[dict[str, Any]]:
    """One fresh cluster with ``replicas`` replicas, one round per client count."""
    rows = []
    with serving_on_ray(Settings(model="real"), replicas=replicas, num_cpus=2) as url:
        asyncio.run(load(url, 4, 20))  # warm-up: connections, the replicas' first batches
        for count in clients:
            rows.append({"replicas": replicas, **asyncio.run(load(url, count, requests))})
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    rows = [row for r in args.replicas for row in measure(r, args.clients, args.requests)]
    print(f"{'replicas':>8} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for row in rows:
        print(f"{row['replicas']:>8} {row['clients']:>7} {row['throughput_rps']:>8.1f} "
              f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>6}")
    base = {row["clients"]: row for row in rows if row["replicas"] == args.replicas[0]}
    for row in rows:
        if row["replicas"] != args.replicas[0] and row["clients"] in base:
            b = base[row["clients"]]
            print(f"{row['replicas']} vs {args.replicas[0]} replicas, {row['clients']} clients: "
                  f"throughput x{row['throughput_rps'] / b['throughput_rps']:.2f}, "
                  f"p99 x{row['p99_ms'] / b['p99_ms']:.2f}")
    return rows


if __name__ == "__main__":
    main()
