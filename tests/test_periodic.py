"""Periodic tasks: a tick is enqueued once however many processes try, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import corral
from corral.periodic import CATCH_UP, Schedule, enqueue_due, latest_tick
from tests import periodicapp
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent


def test_latest_tick_is_the_last_firing_at_or_before_now() -> None:
    now = datetime(2026, 11, 23, 9, 7, 30, tzinfo=UTC)
    assert latest_tick("*/5 * * * *", now) == datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    assert latest_tick("7 9 * * *", now) == datetime(2026, 11, 23, 9, 7, tzinfo=UTC)


def test_invalid_cron_is_a_config_error(app: corral.Corral) -> None:
    with pytest.raises(corral.ConfigError):
        app.periodic(cron="every now and then")


def test_old_ticks_are_not_back_filled(db_url: str) -> None:
    app = corral.Corral(db_url)
    daily = [Schedule(periodicapp.every_minute, "0 9 * * *", (), {"greeting": "hi"})]
    late = datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + CATCH_UP * 2
    assert enqueue_due(app.store, daily, late, "test", {}) == []
    on_time = datetime(2026, 11, 23, 9, 0, 20, tzinfo=UTC)
    assert len(enqueue_due(app.store, daily, on_time, "test", {})) == 1
    app.close()


RACER = """
import sys
from datetime import datetime
from corral.store import open_store
from corral.periodic import enqueue_due
from tests.periodicapp import app
store = open_store(sys.argv[1])
print(len(enqueue_due(store, app.schedules, datetime.fromisoformat(sys.argv[2]), "racer", {})))
"""


def test_a_tick_is_enqueued_once_by_racing_processes(db_url: str) -> None:
    app = corral.Corral(db_url)
    app.store.migrate()
    now = datetime.now(UTC).replace(second=10)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url, now.isoformat()],
                               stdout=subprocess.PIPE, env=env, cwd=REPO) for _ in range(4)]
    made = [int(racer.communicate(timeout=60)[0]) for racer in racers]
    assert sorted(made) == [0, 0, 0, 1]
    jobs = app.list_jobs(task="every_minute")
    assert len(jobs) == 1 and jobs[0].kwargs == {"greeting": "tick"}
    assert jobs[0].meta["tick"] == latest_tick("* * * * *", now).isoformat()
    app.close()


def test_workers_run_each_tick_once(db_url: str, tmp_path: Path) -> None:
    app = corral.Corral(db_url)
    app.store.migrate()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CORRAL_DATABASE_URL", None)
    workers = [subprocess.Popen([sys.executable, "-m", "corral", "worker", "--app",
                                 "tests.periodicapp:app", "--db", db_url],
                                env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(3)]
    try:
        done = wait_until(lambda: app.list_jobs(task="every_minute", status="completed"),
                          timeout=30, message="the tick's job to run")
        assert done[0].result == "tick"
        ticks = Counter(job.meta["tick"] for job in app.list_jobs(task="every_minute"))
        assert set(ticks.values()) == {1}  # one job per tick, three workers or not
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        app.close()
