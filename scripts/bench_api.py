"""Measure the latency and error rate of the blast-radius endpoint of `deputy serve`.

For each backend the script starts `deputy serve` in a child process on 127.0.0.1 with a
fresh random API key, waits for /readyz, and sends a short warm-up. For `neo4j` it first
makes the snapshot the current build, with the NEO4J_* settings. Then, for each level of
concurrency, that many clients (asyncio tasks sharing one httpx connection pool of the same
size) each send GET /v1/principals/{principal}/blast-radius in a loop, one request after
another, until the level has sent `--requests` requests or run `--max-seconds` seconds.
Each request's latency is the wall time from sending it to reading the whole body
(`time.perf_counter`). A request counts as an error when the status is not 200, or when it
fails or times out (`--request-timeout`) before a response arrives.

The result is one JSON line per backend and level on standard output: p50, p95 and p99 of
the latencies in milliseconds (nearest rank), the error rate, the count, the wall time and
the 1-minute load average at the start of the level. Progress and the server's log go to
standard error. The server and the clients share the machine's CPUs, so the figures are for
that whole setup, not for the server alone.

Only 127.0.0.1 is ever contacted. The neo4j backend makes a new current build in the
database that NEO4J_URI names, so point it at a test server.

Usage:

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=deputygraph-test \\
        .venv/bin/python scripts/bench_api.py --backend embedded --backend neo4j
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DEFAULT_SNAPSHOT = ROOT / "examples" / "shared-hr-agent"
DEFAULT_PRINCIPAL = "arn:aws:iam::111122223333:user/alice"
START_TIMEOUT = 120.0  # seconds for the server to become ready
WARM_UP_REQUESTS = 20


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list; NaN for an empty one."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def load_into_neo4j(snapshot: Path) -> str:
    """Make the snapshot the current Neo4j build; return its id."""
    from engine.graph import build_graph  # noqa: PLC0415
    from ingest.snapshot import load_snapshot  # noqa: PLC0415
    from queries.store import GraphStore, Neo4jSettings  # noqa: PLC0415

    with GraphStore.connect(Neo4jSettings.from_environment()) as store:
        return store.load(build_graph(load_snapshot(snapshot))).build_id


def start_server(backend: str, snapshot: Path, key: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--backend", backend]
    command += ["--snapshot", str(snapshot), "--host", HOST, "--port", str(port)]
    environment = {**os.environ, "DEPUTY_API_KEYS": f"{key}:read"}
    # The server's log goes to this script's standard error; it never contains the key.
    return subprocess.Popen(command, env=environment, stdout=sys.stderr, stderr=sys.stderr)


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.poll() is not None:
            raise SystemExit(f"deputy serve exited with status {server.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"deputy serve was not ready within {START_TIMEOUT:g} seconds")
        time.sleep(0.2)


async def run_level(
    base: str, url: str, key: str, *, clients: int, requests: int, max_seconds: float, request_timeout: float
) -> dict[str, Any]:
    """Send `requests` requests from `clients` concurrent clients, or stop after `max_seconds`."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    deadline = started + max_seconds

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=request_timeout) as client:

        async def one_client() -> None:
            nonlocal errors, sent
            while sent < requests and time.perf_counter() < deadline:
                sent += 1
                began = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - began)
                errors += 0 if ok else 1

        await asyncio.gather(*(one_client() for _ in range(clients)))

    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(ordered),
        "errors": errors,
        "error_rate": errors / len(ordered) if ordered else math.nan,
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(ordered) / wall, 1) if wall else math.nan,
        "stopped_by_time": len(ordered) < requests,
    }


def bench_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    snapshot = Path(args.snapshot).resolve()
    build = load_into_neo4j(snapshot) if backend == "neo4j" else None
    key = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://{HOST}:{port}"
    url = f"/v1/principals/{quote(args.principal, safe='')}/blast-radius"
    server = start_server(backend, snapshot, key, port)
    results = []
    try:
        wait_ready(base, server)
        check = httpx.get(f"{base}{url}", headers={"Authorization": f"Bearer {key}"}, timeout=60)
        if check.status_code != 200:
            raise SystemExit(f"{url} returned {check.status_code}: {check.text[:200]}")
        items = check.json()["total"]
        asyncio.run(run_level(base, url, key, clients=1, requests=WARM_UP_REQUESTS, max_seconds=60, request_timeout=60))
        for clients in args.clients:
            load = os.getloadavg()[0]
            print(f"{backend}: {clients} clients, load average {load:.2f}", file=sys.stderr)
            level = asyncio.run(
                run_level(
                    base,
                    url,
                    key,
                    clients=clients,
                    requests=args.requests,
                    max_seconds=args.max_seconds,
                    request_timeout=args.request_timeout,
                )
            )
            level.update({"backend": backend, "build": build, "items": items, "load_average_1m": round(load, 2)})
            results.append(level)
            print(json.dumps(level), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure p50/p95/p99 latency of the blast-radius endpoint.")
    parser.add_argument("--backend", action="append", choices=("embedded", "neo4j"), help="repeat for both")
    parser.add_argument("--snapshot", default=str(DEFAULT_SNAPSHOT), help="snapshot folder (default: the example)")
    parser.add_argument("--principal", default=DEFAULT_PRINCIPAL, help="user or role ARN (default: alice)")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 10, 50], help="concurrency levels (default: 1 10 50)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per level (default: 2000)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit per level (default: 60)")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.max_seconds <= 0 or any(clients < 1 for clients in args.clients):
        parser.error("--requests, --max-seconds and --clients must be positive")
    for backend in args.backend or ["embedded"]:
        bench_backend(backend, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
