"""PostgreSQL connections die under running workers: they reconnect, nothing is lost,
nothing completes twice."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psycopg
import pytest

import corral
from corral.store.postgres import connection
from tests.waiting import wait_until

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


def spans(marks: Path) -> dict[str, list[tuple[float, float]]]:
    """What really ran, from the jobs' own spans.log: job id -> [(start, end), ...]."""
    runs: dict[str, list[tuple[float, float]]] = {}
    log = marks / "spans.log"
    for line in log.read_text().splitlines() if log.exists() else []:
        job_id, _pid, start, end = line.split()
        runs.setdefault(job_id, []).append((float(start), float(end)))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_terminated_sessions_never_rerun_a_live_workers_jobs(
    app: corral.Corral, tasks: SimpleNamespace, db_url: str, marks: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """Every corral session is terminated, round after round, while long one-attempt jobs
    run: the workers live, so no job may be recovered, run twice or fail WorkerLost."""
    jobs = 48
    handles = app.enqueue_many([tasks.span.s(1.5) for _ in range(jobs)])
    workers = [start_worker(concurrency=4, heartbeat_interval="0.5", worker_id=f"host-{n}")
               for n in range(3)]
    deadline = time.monotonic() + 120
    rounds = 0
    while app.list_jobs(status=["queued", "scheduled", "running", "cancelling"], limit=1):
        assert time.monotonic() < deadline, "the drain did not finish"
        if rounds < 8:
            terminate_sessions(db_url)
            rounds += 1
        time.sleep(0.4)
    assert all(worker.poll() is None for worker in workers), "workers stay up"
    statuses = Counter(job.status for job in app.list_jobs(limit=jobs + 1))
    assert statuses == {"completed": jobs}, statuses
    runs = spans(marks)
    assert {h.id for h in handles} == set(runs)
    repeated = {job_id: spans_ for job_id, spans_ in runs.items() if len(spans_) > 1}
    assert not repeated, f"{len(repeated)} jobs ran more than once: {repeated}"
    for worker_state in app.store.list_workers():
        assert worker_state.state == "running", worker_state


def local_cluster(db_url: str) -> list[str] | None:
    """The local cluster (version, name) serving ``db_url``'s port, if there is one."""
    try:
        listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True,
                                text=True, timeout=30).stdout
    except FileNotFoundError:
        return None
    port = str(urlsplit(db_url).port or 5432)
    return next((line.split()[:2] for line in listed.splitlines()
                 if line.split()[2:3] == [port]), None)


def restart_postgres(cluster: list[str]) -> None:
    """Restart the whole server (fast shutdown: every session is ended, every lock freed)."""
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart",
                    "-m", "fast"], check=True, capture_output=True, timeout=120)


@pytest.mark.slow
@pytest.mark.alone  # a restart ends every other test's sessions too
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_postgres_restart_mid_drain_loses_nothing_and_reruns_no_live_job(
    app: corral.Corral, tasks: SimpleNamespace, db_url: str, marks: Path, tmp_path: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    cluster = local_cluster(db_url)
    if cluster is None:
        pytest.skip("no local PostgreSQL cluster to restart")
    long_jobs = app.enqueue_many([tasks.span.s(4.0) for _ in range(12)])
    short_jobs = app.enqueue_many([tasks.chaos.s(i, 5.0) for i in range(600)])
    # 15 slots: the long jobs run through the restart beside a drain of short ones
    workers = [start_worker(concurrency=5, heartbeat_interval="0.5", worker_id=f"host-{n}")
               for n in range(3)]
    wait_until(lambda: (marks / "executions.log").exists(), message="the drain to start")
    restart_postgres(cluster)
    deadline = time.monotonic() + 180
    while True:
        try:
            if not app.list_jobs(status=["queued", "scheduled", "running", "cancelling"],
                                 limit=1):
                break
        except corral.StoreError:
            pass  # the test's own pool is reconnecting too
        assert time.monotonic() < deadline, "the drain did not finish"
        time.sleep(0.2)
    assert all(worker.poll() is None for worker in workers), "workers stay up"
    jobs = app.list_jobs(limit=1000)
    assert Counter(job.status for job in jobs) == {"completed": len(long_jobs) + len(short_jobs)}
    for handle in short_jobs:
        transitions = [e.kind for e in handle.events() if e.to_status is not None]
        assert transitions.count("completed") == 1
    executions = Counter((marks / "executions.log").read_text().split())
    assert set(executions) == {h.id for h in short_jobs}
    runs = spans(marks)
    assert {h.id: len(runs.get(h.id, [])) for h in long_jobs} == {h.id: 1 for h in long_jobs}
    logs = "".join(log.read_text() for log in tmp_path.glob("worker-*.log"))
    assert "liveness lock held again" in logs  # the restart did cut the workers off
    noise = [line for line in logs.splitlines()
             if "WARNING corral" in line and ("listener" in line or "no longer held" in line)]
    assert not noise, "a clean restart is no warning: " + "\n".join(noise)
