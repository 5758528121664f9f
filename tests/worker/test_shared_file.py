"""Several processes on one SQLite file: enqueuers, workers and cancellers at once, and
no caller ever sees "database is locked"; writers take turns on a lock file."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import corral
from corral.store import Store
from corral.store.base import JobFilter
from corral.store.engine import Engine
from corral.store.sqlite.driver import SQLiteDriver, writers_file
from tests.factories import new_job
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
ENQUEUER = """
import sys
import corral
from tests import workerapp
app = corral.Corral(sys.argv[1])
tasks = workerapp.register(app)
for i in range(int(sys.argv[2])):
    handle = tasks.quick.enqueue(0.5)
    if i % 10 == 0:
        try:
            handle.cancel(reason="shared-file test")
        except corral.JobAlreadyFinished:
            pass
    app.list_jobs(limit=5)
print("ok")
"""


def test_enqueuers_workers_and_cancellers_share_one_file_without_lock_errors(
    app: corral.Corral, db_url: str, start_worker: Callable[..., object],
) -> None:
    app.store.migrate()
    start_worker(concurrency=4)
    start_worker(concurrency=4)
    enqueuers = [
        subprocess.Popen([sys.executable, "-c", ENQUEUER, db_url, "300"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for process in enqueuers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0 and out.strip() == "ok", err
        assert "locked" not in err
    wait_until(lambda: not app.list_jobs(status=["queued", "running", "cancelling"]),
               timeout=60, interval=0.1, message="every job to finish")
    finished = app.list_jobs(limit=2000)
    assert len(finished) == 1200
    assert {job.status for job in finished} <= {"completed", "cancelled"}


def test_a_writer_waits_for_its_turn_and_goes_the_moment_it_is_let_go(
        sqlite_store: Store) -> None:
    """Writers queue on ``<db>.writers`` (another process's writer is holding it here):
    the write waits, writes nothing meanwhile, and goes as soon as the lock is let go,
    not after a busy-handler sleep."""
    assert isinstance(sqlite_store, Engine) and isinstance(sqlite_store.driver, SQLiteDriver)
    held = os.open(writers_file(sqlite_store.driver.path), os.O_CREAT | os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    written = threading.Event()
    writer = threading.Thread(target=lambda: (sqlite_store.enqueue_jobs([new_job()]),
                                              written.set()))
    writer.start()
    try:
        assert not written.wait(0.3) and sqlite_store.list_jobs(JobFilter()) == []
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
    assert written.wait(10)
    writer.join()
    assert len(sqlite_store.list_jobs(JobFilter())) == 1
