"""Scenario 7: the HTTP API under 50 concurrent clients (``GET /jobs/{id}`` and
``GET /stats``), against a real ``corral serve`` process; and how fast a change reaches an
open ``/events/stream`` (the web UI's feed).

Each client is a closed loop (next request as soon as the last answer is read) on one
keep-alive connection; the load runs in this process on aiohttp, the server in its own.
Latency is per request as the client sees it, after a short warm-up. A second run paces
each client at 10 requests/s (open loop: latency counts from when the request was due).
Push latency is from
just before an enqueue (Python API, in this process) to its ``job_update`` read off the
stream.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.common import pct, wait

REPO = Path(__file__).resolve().parent.parent
CLIENTS = 50
WARMUP_S = 0.5
JOBS = 2000
PUSH_SAMPLES = 100
PACED_RATE = 10.0  # requests per second per client in the open-loop run (500/s in all)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_ADMIN_TOKEN": "",
           "CORRAL_READ_TOKEN": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "corral", "serve", "--app", "bench.tasks:app", "--db", url,
         "--port", str(port), "--log-level", "warning", *flags],
        cwd=REPO, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return process.poll() is not None

    wait(up, 30, interval=0.05)
    return process, base


async def _load(paths: list[str], seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + WARMUP_S + seconds
    warm_after = time.perf_counter() + WARMUP_S
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def client() -> None:
            while (now := time.perf_counter()) < deadline:
                async with session.get(random.choice(paths)) as response:
                    await response.read()
                    assert response.status == 200, response.status
                if now >= warm_after:
                    latencies.append((time.perf_counter() - now) * 1000)

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies


async def _paced(paths: list[str], seconds: float) -> list[float]:
    """Open loop: each client sends one request every ``1 / PACED_RATE`` s, whatever the
    answers do (the load of 50 dashboards polling, not a saturation test)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def client() -> None:
            due = time.perf_counter() + random.uniform(0, 1 / PACED_RATE)
            end = due + seconds
            while due < end:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                async with session.get(random.choice(paths)) as response:
                    await response.read()
                latencies.append((time.perf_counter() - due) * 1000)
                due += 1 / PACED_RATE

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies


async def _push(base: str, enqueue: Callable[[], str], samples: int) -> list[float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session, \
            session.get(f"{base}/events/stream", timeout=aiohttp.ClientTimeout()) as stream:
        await stream.content.readline()  # event: ready
        for _ in range(samples):
            started = time.perf_counter()
            job_id = await asyncio.to_thread(enqueue)
            while job_id.encode() not in await stream.content.readline():
                pass
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def measure(base: str, job_ids: list[str], seconds: float,
            enqueue: Callable[[], str]) -> dict[str, float]:
    result: dict[str, float] = {}
    for name, paths in (("job", [f"{base}/jobs/{i}" for i in job_ids]),
                        ("stats", [f"{base}/stats"])):
        ms = asyncio.run(_load(paths, seconds))
        result[f"{name}_p50_ms"] = statistics.median(ms)
        result[f"{name}_p99_ms"] = pct(ms, 0.99)
        result[f"{name}_req_per_s"] = len(ms) / seconds
    paced = asyncio.run(_paced([f"{base}/jobs/{i}" for i in job_ids], seconds))
    result["job_paced_p50_ms"] = statistics.median(paced)
    result["job_paced_p99_ms"] = pct(paced, 0.99)
    pushed = asyncio.run(_push(base, enqueue, PUSH_SAMPLES))
    result["push_p50_ms"] = statistics.median(pushed)
    result["push_p99_ms"] = pct(pushed, 0.99)
    return result
