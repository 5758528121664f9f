"""Finding and acting on jobs by the caller's own key (DESIGN §6 meta labels), by age
(``newer_than``), and ``reset_stuck``'s dry run, through the Python API on both stores."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

import corral
from corral.bulk import StuckReset
from corral.status import JobStatus
from corral.store import Store
from tests.factories import make_job, register_worker

S = JobStatus


def labelled(tasks: SimpleNamespace, **meta: object) -> str:
    return tasks.noop.s().set(meta=meta).enqueue().id


def test_list_jobs_matches_meta_labels_by_json_value(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    number = labelled(tasks, crawl_job_id=5, client="Datadog")
    as_float = labelled(tasks, crawl_job_id=5.0)
    text = labelled(tasks, crawl_job_id="5")
    other = labelled(tasks, crawl_job_id=6, client="Datadog")
    labelled(tasks)

    def found(**meta: object) -> set[str]:
        return {job.id for job in app.list_jobs(meta=meta)}  # type: ignore[arg-type]

    assert found(crawl_job_id=5) == {number, as_float}  # numbers by value
    assert found(crawl_job_id="5") == {text}  # the string is not the number
    assert found(client="Datadog") == {number, other}
    assert found(client="Datadog", crawl_job_id=5) == {number}  # every label must hold
    assert found(client="datadog") == set()
    assert len(app.list_jobs(meta={})) == 5  # no label: no filter


def test_bulk_cancel_restart_and_delete_take_meta_labels(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    crawl = [labelled(tasks, crawl_job_id=5) for _ in range(3)]
    other = labelled(tasks, crawl_job_id=6)

    preview = app.cancel_many(meta={"crawl_job_id": 5}, dry_run=True)
    assert preview.dry_run and sorted(preview.matched) == sorted(crawl)
    assert {job.status for job in app.list_jobs()} == {S.QUEUED}  # the dry run did nothing

    cancelled = app.cancel_many(meta={"crawl_job_id": 5}, status="queued", reason="crawl 5")
    assert sorted(cancelled.done) == sorted(crawl)
    assert app.get_job(other).status == S.QUEUED

    restarted = app.restart_many(meta={"crawl_job_id": 5})
    assert sorted(restarted.done) == sorted(crawl)
    app.cancel_many(meta={"crawl_job_id": 5})
    deleted = app.delete_many(meta={"crawl_job_id": 5})
    assert sorted(deleted.done) == sorted(crawl)
    assert [job.id for job in app.list_jobs()] == [other]


def test_meta_labels_must_be_scalars(app: corral.Corral, tasks: SimpleNamespace) -> None:
    job = labelled(tasks, tags=["a"])
    for meta in ({"tags": ["a"]}, {"nested": {"a": 1}}, {"x": float("nan")}):
        with pytest.raises(corral.InvalidArguments):
            app.cancel_many(meta=meta)
    with pytest.raises(corral.InvalidArguments):
        app.list_jobs(meta=["crawl_job_id", 5])  # type: ignore[arg-type]
    assert app.get_job(job).status == S.QUEUED


def test_newer_than_and_older_than_split_jobs_by_age(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    old = tasks.noop.enqueue().id
    time.sleep(0.6)
    new = tasks.noop.enqueue().id
    assert [job.id for job in app.list_jobs(newer_than="0.3s")] == [new]
    assert [job.id for job in app.list_jobs(older_than="0.3s")] == [old]
    assert app.list_jobs(older_than="0.3s", newer_than="0.3s") == []
    result = app.cancel_many(newer_than="0.3s")
    assert result.done == [new] and app.get_job(old).status == S.QUEUED
    with pytest.raises(corral.ConfigError):
        app.list_jobs(newer_than="soon")


def test_reset_stuck_dry_run_lists_what_it_would_do_and_changes_nothing(
    app: corral.Corral, store: Store
) -> None:
    register_worker(store, "alive")
    on_live = make_job(store, S.RUNNING, worker="alive")
    on_dead = make_job(store, S.RUNNING, worker="dead", dead_worker=True, max_attempts=5)
    queued = make_job(store, S.QUEUED)
    trails = {job.id: store.job_events(job.id) for job in (on_live, on_dead, queued)}

    would = app.reset_stuck(0, dry_run=True)

    assert would == StuckReset(failed=[on_dead.id], cancelled=[on_live.id])
    assert would.count == 2 and set(would.job_ids) == {on_live.id, on_dead.id}
    for job_id, trail in trails.items():
        assert store.job_events(job_id) == trail
    assert {job.id: job.status for job in app.list_jobs()} == {
        on_live.id: S.RUNNING, on_dead.id: S.RUNNING, queued.id: S.QUEUED}
    assert {w.id: w.state for w in store.list_workers()} == {"alive": "running",
                                                             "dead": "running"}

    done = app.reset_stuck(0)  # the real thing does what the dry run said
    assert sorted(done) == sorted(would.job_ids)
    assert app.get_job(on_dead.id).status == S.FAILED
    assert app.get_job(on_live.id).status == S.CANCELLING
