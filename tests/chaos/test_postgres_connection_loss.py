"""PostgreSQL connections die under running workers: they reconnect, nothing is lost,
nothing completes twice."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import psycopg
import pytest

import corral
from corral.store.postgres import connection

JOBS = 1500


def terminate_sessions(db_url: str) -> int:
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid != pg_backend_pid()",
            (target.application_name,),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_workers_survive_their_backends_being_terminated(
    app: corral.Corral, tasks: SimpleNamespace, db_url: str,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    handles = app.enqueue_many([tasks.chaos.s(i, 5.0) for i in range(JOBS)])
    workers = [start_worker(concurrency=4, heartbeat_interval="0.5", worker_id=f"host-{n}")
               for n in range(4)]
    terminated = 0
    deadline = time.monotonic() + 180
    while app.list_jobs(status=["queued", "scheduled", "running", "cancelling"], limit=1):
        assert time.monotonic() < deadline, "the drain did not finish"
        if terminated < 3:
            time.sleep(0.7)
            terminated += 1
            print(f"terminated {terminate_sessions(db_url)} sessions")
        else:
            time.sleep(0.2)
    assert all(worker.poll() is None for worker in workers), "workers stay up"
    jobs = app.list_jobs(limit=JOBS + 1)
    assert Counter(job.status for job in jobs) == {"completed": JOBS}
    for handle in handles:
        transitions = [e.kind for e in handle.events() if e.to_status is not None]
        assert transitions.count("completed") == 1 and transitions[-1] == "completed"
