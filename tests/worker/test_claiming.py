"""Two threads of a worker claim: the claimer, and the listener when it hears of new work
(on PostgreSQL, on its own connection). Together they never fill more slots than the
worker has."""

from __future__ import annotations

import threading
import time

import corral
from corral.worker.worker import Worker
from tests.waiting import wait_until

SLOTS = 2
JOBS = 80


def test_jobs_enqueued_one_by_one_never_run_more_at_once_than_the_slots(
    app: corral.Corral,
) -> None:
    lock = threading.Lock()
    running: list[str] = []
    most = 0
    ran: list[str] = []

    @app.task(name="occupy")
    def occupy(ctx: corral.Context) -> None:
        nonlocal most
        with lock:
            running.append(ctx.job_id)
            most = max(most, len(running))
        time.sleep(0.005)
        with lock:
            running.remove(ctx.job_id)
            ran.append(ctx.job_id)

    worker = Worker(app, concurrency=SLOTS)
    worker.start()
    try:
        # one enqueue at a time: each one notifies the listener, which claims while the
        # claimer claims for the slots that jobs free
        handles = [occupy.enqueue() for _ in range(JOBS)]
        wait_until(lambda: len(app.list_jobs(status="completed", limit=JOBS + 1)) == JOBS,
                   timeout=60, message=f"all {JOBS} jobs to complete")
    finally:
        worker.stop(wait=False)
    assert sorted(ran) == sorted(handle.id for handle in handles), "each ran exactly once"
    assert most <= SLOTS

