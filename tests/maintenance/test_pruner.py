"""The pruner is the one place that deletes: finished jobs, notifications, worker rows."""

from __future__ import annotations

from corral.maintenance.pruner import Pruner, PruneReport
from corral.status import JobStatus
from corral.store import Store
from tests.factories import make_job
from tests.store.test_reaper import register, sight_free_lock

S = JobStatus


def test_dead_worker_rows_are_pruned_after_a_while(store: Store) -> None:
    lock = register(store)
    lock.release()  # type: ignore[attr-defined]
    sight_free_lock(store)
    store.reap(lease=60, actor="r")
    assert store.prune_workers(gone_for=3600) == 0
    assert store.prune_workers(gone_for=0) == 1
    assert store.list_workers() == []


def test_the_reaper_only_reaps_and_leaves_worker_rows_to_the_pruner(store: Store) -> None:
    lock = register(store)
    lock.release()  # type: ignore[attr-defined]
    sight_free_lock(store)
    make_job(store, S.RUNNING)  # an orphan: the reaper writes
    assert store.reap(lease=60, actor="r").recovered == 1
    assert [w.state for w in store.list_workers()] == ["dead"]
    keep = Pruner(store, keep_completed=3600, keep_failed=3600, keep_workers=3600)
    assert keep.run_once() == PruneReport()
    assert Pruner(store, keep_completed=0, keep_failed=0, keep_workers=0).run_once().workers == 1
    assert store.list_workers() == []


def test_the_pruner_deletes_finished_jobs_past_their_keep_period_only(store: Store) -> None:
    done = make_job(store, S.COMPLETED)
    failed = make_job(store, S.FAILED)
    active = make_job(store, S.QUEUED)
    keep = Pruner(store, keep_completed=3600, keep_failed=3600)
    assert keep.run_once().jobs == 0
    assert Pruner(store, keep_completed=0, keep_failed=3600).run_once().jobs == 1
    assert store.get_job(done.id) is None and store.get_job(failed.id) is not None
    assert Pruner(store, keep_completed=0, keep_failed=0).run_once().jobs == 1
    assert store.get_job(active.id) is not None
