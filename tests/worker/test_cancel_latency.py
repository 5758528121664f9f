"""Cancel latency, measured and printed (targets live in the benchmark, not here)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import corral
from tests.waiting import wait_until

RUNS = 20


def test_cancel_latency_of_async_jobs_is_measured(
    app: corral.Corral, tasks: SimpleNamespace, db_url: str, marks: Path,
    start_worker: Callable[..., object], is_marked: Callable[[str, str], bool],
) -> None:
    """From the cancel request to the job's ``finally`` having run (CancelledError)."""
    start_worker()
    latencies = []
    for _ in range(RUNS):
        handle = tasks.async_sleep.enqueue(60)
        wait_until(lambda h=handle: is_marked(h.id, "started"), interval=0.001,
                   message="the job to start")
        asked = time.perf_counter()
        handle.cancel()
        wait_until(lambda h=handle: is_marked(h.id, "finally"), interval=0.0005,
                   message="the job's finally")
        latencies.append((time.perf_counter() - asked) * 1000)
        assert handle.wait(timeout=10).status == "cancelled"
    latencies.sort()
    backend = db_url.split(":", 1)[0]
    print(f"\n{backend} async cancel latency over {RUNS} runs: "
          f"p50 {statistics.median(latencies):.2f} ms, max {latencies[-1]:.2f} ms")
