"""What an operator sees of the whole system (issue 15, items 11 and 12): every queue that
exists (jobs of any status, a live worker serving it, or rules), and workers counted as
alive, stopped (cleanly) or dead, the same in ``Corral``, HTTP ``/stats`` and
``/queues``, the CLI and the metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

import corral
from corral.http import create_app
from corral.status import JobStatus
from corral.store.base import QueueInfo
from tests.cli.conftest import Run
from tests.factories import make_job, new_job
from tests.waiting import wait_until

StartWorker = Callable[..., subprocess.Popen[bytes]]
pytestmark = pytest.mark.usefixtures("tasks")


def by_name(queues: list[QueueInfo]) -> dict[str, QueueInfo]:
    return {q.name: q for q in queues}


def stop_cleanly(worker: subprocess.Popen[bytes], log: Path, how: int) -> None:
    """Signal a worker once it handles signals (its "started" line is logged just before
    it installs its handlers), and wait for its clean exit."""
    wait_until(lambda: " started: " in log.read_text(), timeout=30, message="worker started")
    time.sleep(0.3)
    worker.send_signal(how)
    assert worker.wait(30) == 0, log.read_text()


@pytest.fixture
def client(app: corral.Corral) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def test_queues_lists_a_queue_with_only_finished_jobs_and_one_a_live_worker_serves(
    app: corral.Corral, start_worker: StartWorker, client: TestClient, corral_cli: Run,
    tmp_path: Path,
) -> None:
    """Before: a queue appeared only while it had active jobs, so ``tickers`` after its
    jobs had run, and ``idle`` that a worker serves but nobody has used, were missing
    (``GET /queues`` said ``[]``, the UI "No queues yet.")."""
    for status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        make_job(app.store, status, queue="tickers")
    make_job(app.store, JobStatus.QUEUED, queue="busy")
    start_worker(queues="idle,other-idle")
    gone = start_worker(queues="gone")
    stop_cleanly(gone, tmp_path / "worker-1.log", signal.SIGTERM)  # it serves nothing now
    expected = {"tickers", "busy", "idle", "other-idle"}

    listed = by_name(app.queues())
    assert set(listed) == expected
    assert listed["tickers"] == QueueInfo("tickers", None, False, 0, 0, 0)
    assert listed["busy"].queued == 1 and listed["idle"].queued == 0
    assert {q["name"] for q in client.get("/api/v1/queues").json()} == expected
    stats = client.get("/api/v1/stats").json()
    assert set(stats["queues"]) == expected
    assert stats["queues"]["tickers"] == {"queued": 0, "scheduled": 0, "running": 0,
                                          "concurrency": None, "paused": False}
    shown = corral_cli("queues", "--json")
    assert shown.returncode == 0, shown.stderr
    assert {q["name"] for q in json.loads(shown.stdout)} == expected
    table = corral_cli("queues")
    assert "tickers" in table.stdout and "idle" in table.stdout and "gone" not in table.stdout


def test_queues_keep_their_rules_and_counts(app: corral.Corral, tasks: SimpleNamespace,
                                            client: TestClient) -> None:
    app.pause_queue("ruled")
    app.set_queue_limit("tickers", 2)
    make_job(app.store, JobStatus.COMPLETED, queue="tickers")
    make_job(app.store, JobStatus.RUNNING, queue="tickers")
    app.store.enqueue_jobs([new_job(queue="tickers",
                                    run_at=datetime.now(UTC) + timedelta(hours=1))])
    listed = by_name(app.queues())
    assert listed["ruled"] == QueueInfo("ruled", None, True, 0, 0, 0)
    assert listed["tickers"] == QueueInfo("tickers", 2, False, 0, 1, 1)
    assert {q["name"]: q["paused"] for q in client.get("/api/v1/queues").json()} == {
        "ruled": True, "tickers": False}


def test_stats_count_a_cleanly_stopped_worker_as_stopped_and_a_killed_one_as_dead(
    app: corral.Corral, start_worker: StartWorker, client: TestClient, corral_cli: Run,
    tmp_path: Path,
) -> None:
    """Before: ``workers: {alive, dead}`` counted every worker not running as dead, so a
    clean Ctrl+C of ``corral demo`` showed a red "1 dead"."""
    stopped = start_worker()
    killed = start_worker()
    start_worker()
    stop_cleanly(stopped, tmp_path / "worker-0.log", signal.SIGINT)  # Ctrl+C
    killed.kill()
    killed.wait()

    def reaped() -> bool:
        app.store.reap(lease=app.settings.lease, actor="test")
        return app.stats()["workers"] == {"alive": 1, "stopped": 1, "dead": 1}

    wait_until(reaped, timeout=20, message="the killed worker found dead")
    wait_until(lambda: client.get("/api/v1/stats").json()["workers"]
               == {"alive": 1, "stopped": 1, "dead": 1}, timeout=5, message="HTTP stats")
    text = corral_cli("stats")
    assert "workers alive 1, stopped 1, dead 1" in text.stdout, text.stdout
    listing = corral_cli("workers")
    assert "alive 1, stopped 1, dead 1" in listing.stdout, listing.stdout
    assert json.loads(corral_cli("stats", "--json").stdout)["workers"] == {
        "alive": 1, "stopped": 1, "dead": 1}
    metrics = client.get("/api/v1/metrics").text
    for state in ("running", "stopped", "dead"):
        assert f'corral_workers{{state="{state}"}} 1.0' in metrics
