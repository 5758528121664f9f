"""Chaos: workers are kill -9-ed every second while they drain; nothing is lost, nothing
completes twice."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import corral

JOBS = 3000
WORKERS = 4


def test_random_worker_killed_every_second_while_draining(
    app: corral.Corral, tasks: SimpleNamespace, marks: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    rng = random.Random(3)
    handles = app.enqueue_many([tasks.chaos.s(i, 25.0) for i in range(JOBS)])
    workers = [start_worker(concurrency=4, heartbeat_interval=None) for _ in range(WORKERS)]
    kills = 0
    deadline = time.monotonic() + 240
    while app.list_jobs(status=["queued", "scheduled", "running", "cancelling"], limit=1):
        assert time.monotonic() < deadline, "the drain did not finish"
        time.sleep(1.0)
        victim = workers.pop(rng.randrange(len(workers)))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        workers.append(start_worker(concurrency=4, heartbeat_interval=None))
    jobs = app.list_jobs(limit=JOBS + 1)
    assert len(jobs) == JOBS
    assert Counter(job.status for job in jobs) == {"completed": JOBS}
    for handle in handles:
        transitions = [e.kind for e in handle.events() if e.to_status is not None]
        assert transitions.count("completed") == 1 and transitions[-1] == "completed"
    executions = Counter((marks / "executions.log").read_text().split())
    assert set(executions) == {h.id for h in handles}
    repeated = sum(n - 1 for n in executions.values())
    print(f"chaos: {kills} kills, {repeated} repeated executions of {JOBS} jobs")
