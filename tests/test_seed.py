"""The seed scenario: four jobs with phases, one cancelled during "digest"."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import corral
from corral.status import JobStatus
from tests.waiting import wait_until


def test_group_of_four_one_cancelled_during_digest(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
) -> None:
    start_worker(concurrency=4)
    group = app.enqueue_many([tasks.ticker.s(t, steps=60, step=0.01)
                              for t in ("RY.TO", "TD.TO", "SHOP.TO", "ENB.TO")])
    victim = group[2]
    wait_until(lambda: victim.refresh().phase == "digest", message="job 3 to reach digest")
    victim.cancel(reason="seed: cancel during digest")
    finished = [handle.wait(timeout=30) for handle in group]
    assert [job.status for job in finished] == [
        JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.COMPLETED]
    cancelled = [e for e in victim.events() if e.kind == "cancelled"][-1]
    assert cancelled.data["was_in_phase"] == "digest"
    assert finished[2].phase == "digest" and finished[2].result["digested"] < 60
    for job in finished[:2] + finished[3:]:
        assert job.result == {"name": job.args[0], "digested": 60} and job.phase == "commit"


def test_batch_of_four_on_a_sequential_queue_cancelled_during_job_two_digest(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
) -> None:
    app.set_queue_limit("tickers", 1)
    batch = app.batch([tasks.ticker.s(t, steps=30, step=0.01).set(queue="tickers")
                       for t in ("RY.TO", "TD.TO", "SHOP.TO", "ENB.TO")], name="seed")
    start_worker(queues="tickers", concurrency=4)
    first, second, third, fourth = batch.jobs
    wait_until(lambda: second.refresh().phase == "digest", message="job 2 to reach digest")
    result = batch.cancel(reason="seed: cancel the batch during job 2's digest")
    assert result["status"] == "cancelled" and result["jobs_cancelled"] == 3
    assert set(result["job_ids"]) == {second.id, third.id, fourth.id}
    status = batch.wait(timeout=30)
    assert first.refresh().status == JobStatus.COMPLETED
    assert second.refresh().status == JobStatus.CANCELLED
    assert [e for e in second.events() if e.kind == "cancelled"][-1].data["was_in_phase"] \
        == "digest"
    for never_started in (third, fourth):
        job = never_started.refresh()
        assert job.status == JobStatus.CANCELLED and job.started_at is None
    assert status.counts["completed"] == 1 and status.counts["cancelled"] == 3
    assert status.counts["failed"] == 0 and status.state == "cancelled"
