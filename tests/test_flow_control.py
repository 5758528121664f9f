"""Flow control through the Python API on both stores: batches, unique keys, bulk
cancel/retry/delete with filters and dry runs, retention."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from tests.waiting import wait_until

# -- batches -----------------------------------------------------------------------------


def test_batch_creates_every_job_and_counts_them_per_status(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    batch = app.batch([tasks.noop.s(i) for i in range(3)], name="nightly")
    assert len(batch.jobs) == 3 and all(h.job.batch_id == batch.id for h in batch.jobs)
    status = batch.refresh()
    assert status.name == "nightly" and status.total == 3
    assert status.counts["queued"] == 3 and status.state == "queued"
    assert status.progress == 0.0


def test_a_batch_with_an_invalid_job_creates_nothing(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    with pytest.raises(corral.InvalidArguments):
        app.batch([tasks.noop.s(1), tasks.noop.s(object())])  # type: ignore[arg-type]
    assert app.list_jobs() == []


def test_cancel_batch_cancels_active_jobs_and_counts_them_as_cancelled(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    batch = app.batch([tasks.noop.s(i) for i in range(3)])
    first = batch.jobs[0]
    app.cancel(first.id)  # already cancelled: not active, so not counted again
    result = app.cancel_batch(batch.id, reason="wrong input")
    assert result["status"] == "cancelled" and result["batch_id"] == batch.id
    assert result["jobs_cancelled"] == 2
    assert set(result["job_ids"]) == {h.id for h in batch.jobs[1:]}
    status = app.get_batch(batch.id)
    assert status.counts["cancelled"] == 3 and status.counts["failed"] == 0
    assert status.state == "cancelled" and status.progress == 1.0
    assert app.get_job(batch.jobs[1].id).cancel_reason == "wrong input"


def test_cancel_batch_with_nothing_active_says_so(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    batch = app.batch([tasks.noop.s(1)])
    app.cancel_batch(batch.id)
    again = app.cancel_batch(batch.id)
    assert again == {"status": "no_jobs_to_cancel", "batch_id": batch.id,
                     "jobs_cancelled": 0, "job_ids": []}


def test_unknown_batch_is_a_typed_error(app: corral.Corral) -> None:
    with pytest.raises(corral.BatchNotFound):
        app.get_batch("nope")
    with pytest.raises(corral.BatchNotFound):
        app.cancel_batch("nope")


def test_on_complete_is_enqueued_once_when_the_batch_finishes(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    batch = app.batch([tasks.noop.s(1), tasks.noop.s(2)], on_complete=tasks.noop.s("done"))
    assert app.store.complete_batches(actor="test") == []  # jobs still queued
    app.cancel_batch(batch.id)
    made = app.store.complete_batches(actor="test")
    assert len(made) == 1
    follow_up = app.get_job(made[0])
    assert follow_up.task == "noop" and follow_up.args == ["done"]
    assert follow_up.meta["completed_batch_id"] == batch.id
    assert app.store.complete_batches(actor="test") == []  # once
    assert app.get_batch(batch.id).completed_at is not None


def test_a_worker_runs_a_batch_and_its_on_complete_job(
    app: corral.Corral, tasks: SimpleNamespace, start_worker
) -> None:
    batch = app.batch([tasks.noop.s(i) for i in range(5)], on_complete=tasks.noop.s("fin"))
    start_worker()
    status = batch.wait(timeout=20)
    assert status.state == "completed" and status.counts["completed"] == 5
    follow_up = wait_until(lambda: app.list_jobs(task="noop", status="completed", limit=10)
                           and [j for j in app.list_jobs(task="noop", status="completed")
                                if j.args == ["fin"]], message="on_complete job ran")
    assert follow_up[0].batch_id is None


# -- unique keys -------------------------------------------------------------------------


def test_enqueue_with_an_active_unique_key_returns_the_holder(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    first = tasks.noop.s(1).set(unique_key="report:42").enqueue()
    second = tasks.noop.s(2).set(unique_key="report:42").enqueue()
    assert second.id == first.id and second.job.args == [1]
    assert len(app.list_jobs()) == 1
    app.cancel(first.id)  # no longer active: the key is free again
    third = tasks.noop.s(3).set(unique_key="report:42").enqueue()
    assert third.id != first.id and third.job.status == JobStatus.QUEUED


def test_unique_keys_inside_one_enqueue_many(app: corral.Corral, tasks: SimpleNamespace) -> None:
    handles = app.enqueue_many([tasks.noop.s(1).set(unique_key="k"),
                                tasks.noop.s(2).set(unique_key="k"), tasks.noop.s(3)])
    assert handles[0].id == handles[1].id and len(app.list_jobs()) == 2
    assert len(app.job_events(handles[0].id)) == 1  # one "enqueued" row, not two


UNIQUE_ENQUEUER = """
import sys, json, corral
app = corral.Corral(sys.argv[1])
noop = app.task(name="noop")(lambda value=None: value)
ids = [noop.s(i).set(unique_key="only-one").enqueue().id for i in range(20)]
print(json.dumps(sorted(set(ids))))
"""


def test_unique_key_holds_under_concurrent_enqueuers(app: corral.Corral, db_url: str) -> None:
    processes = [subprocess.Popen([sys.executable, "-c", UNIQUE_ENQUEUER, db_url],
                                  stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent)
                 for _ in range(4)]
    seen = set()
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        seen.update(json.loads(out))
    active = app.list_jobs(status=["queued", "scheduled"])
    assert len(active) == 1 and seen == {active[0].id}


# -- bulk operations ---------------------------------------------------------------------


def test_bulk_cancel_by_filter_with_dry_run_first(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    reports = [tasks.noop.s(i).set(queue="reports").enqueue() for i in range(3)]
    other = tasks.noop.s(9).enqueue()
    preview = app.cancel_many(queue="reports", dry_run=True)
    assert preview.dry_run and sorted(preview.matched) == sorted(h.id for h in reports)
    assert all(h.refresh().status == JobStatus.QUEUED for h in reports)  # nothing changed
    done = app.cancel_many(queue="reports", reason="cleanup")
    assert sorted(done.done) == sorted(preview.matched) and done.count == 3
    assert other.refresh().status == JobStatus.QUEUED


def test_bulk_cancel_reports_finished_jobs_as_refused(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    a, b = tasks.noop.enqueue(1), tasks.noop.enqueue(2)
    app.cancel(a.id)
    result = app.cancel_many([a.id, b.id])
    assert result.done == [b.id] and result.refused == {a.id: "cancelled"}


def test_bulk_operations_refuse_an_empty_filter(app: corral.Corral) -> None:
    for operation in (app.cancel_many, app.delete_many, app.restart_many):
        with pytest.raises(corral.ConfigError):
            operation()


def test_bulk_retry_restarts_cancelled_jobs(app: corral.Corral, tasks: SimpleNamespace) -> None:
    handles = [tasks.noop.enqueue(i) for i in range(2)]
    app.cancel_many([h.id for h in handles])
    result = app.restart_many(status="cancelled")
    assert sorted(result.done) == sorted(h.id for h in handles)
    assert all(h.refresh().status == JobStatus.QUEUED for h in handles)


def test_delete_refuses_active_jobs_and_cascades_the_trail(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    finished, active = tasks.noop.enqueue(1), tasks.noop.enqueue(2)
    app.cancel(finished.id)
    result = app.delete_many([finished.id, active.id])
    assert result.done == [finished.id] and result.refused == {active.id: "queued"}
    with pytest.raises(corral.JobNotFound):
        app.get_job(finished.id)
    assert app.store.job_events(finished.id) == []
    with pytest.raises(corral.JobActive):
        app.delete(active.id)
    with pytest.raises(corral.JobNotFound):
        app.delete(finished.id)


def test_older_than_filter(app: corral.Corral, tasks: SimpleNamespace) -> None:
    tasks.noop.enqueue(1)
    assert app.list_jobs(older_than="1h") == []
    assert len(app.list_jobs(older_than=0)) == 1
    with pytest.raises(corral.ConfigError):
        app.list_jobs(older_than="3x")


# -- retention ---------------------------------------------------------------------------


def test_prune_deletes_finished_jobs_past_their_keep_period(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    finished = [tasks.noop.enqueue(1), tasks.noop.enqueue(2)]
    active = tasks.noop.enqueue(3)
    app.cancel_many([h.id for h in finished])
    assert app.prune(keep_failed="1h") == 0  # finished just now: kept
    later = datetime.now(UTC) + timedelta(hours=2)  # as seen two hours from now...
    assert app.store.prune_jobs(completed_before=later, failed_before=later) == 2
    assert [j.id for j in app.list_jobs()] == [active.id]  # ...active jobs are never pruned


def test_the_housekeeper_completes_batches_and_the_pruner_prunes(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    from corral.maintenance.housekeeper import Housekeeper
    from corral.maintenance.pruner import Pruner

    done = tasks.noop.enqueue(1)
    batch = app.batch([tasks.noop.s(2)], on_complete=tasks.noop.s("after"))
    app.cancel_many([done.id, batch.jobs[0].id])
    keeper = Housekeeper(app.store, actor="housekeeper:t")
    made = keeper.run_once()
    assert Pruner(app.store, keep_completed=0, keep_failed=0).run_once().jobs == 2
    remaining = app.list_jobs()
    assert [job.args for job in remaining] == [["after"]]  # both cancelled jobs pruned
    assert remaining[0].meta["completed_batch_id"] == batch.id
    assert made == [remaining[0].id]
