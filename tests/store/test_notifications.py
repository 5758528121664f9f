"""The Store contract for who is woken: workers of a queue, the SQLite outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corral.status import JobStatus
from corral.store import Engine, Store
from corral.store.base import WorkerInfo
from corral.store.sqlite.driver import SQLiteDriver
from tests.factories import WORKER, make_job, new_job
from tests.store.helpers import listen_for

S = JobStatus


def test_enqueue_wakes_listeners_of_workers_on_that_queue(store: Store) -> None:
    listener = store.open_listener()
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t",
                                     listener.address))
    store.enqueue_jobs([new_job(queue="default")])
    note = listen_for(listener, lambda n: n.channel == "jobs")
    assert note.queue == "default"
    listener.close()


def test_run_now_wakes_the_workers_of_the_queue(store: Store) -> None:
    delayed = make_job(store, S.SCHEDULED, queue="later")
    listener = store.open_listener()
    try:
        store.register_worker(WorkerInfo("listening", "here", 1, ("later",), 1, "t",
                                         listener.address))
        store.run_now([delayed.id], actor="ops")
        listen_for(listener, lambda n: n.channel == "jobs" and n.queue == "later")
    finally:
        listener.close()


def test_sqlite_outbox_is_read_after_the_last_seen_id_and_pruned(sqlite_store: Store) -> None:
    store = sqlite_store
    assert isinstance(store, Engine) and isinstance(store.driver, SQLiteDriver)
    outbox = store.driver  # the outbox is the SQLite driver's, read by its listener
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 2, "t"))
    start = outbox.last_notification_id()
    a, b = make_job(store, S.RUNNING), make_job(store, S.RUNNING)
    store.cancel_jobs([a.id], actor=None, reason=None)
    first = outbox.read_notifications(start)
    store.cancel_jobs([b.id], actor=None, reason=None, force=True)
    second = outbox.read_notifications(first[-1].id)
    assert [(n.job_ids, n.force) for n in second] == [((b.id,), True)]
    assert store.prune_notifications(datetime.now(UTC) + timedelta(seconds=1)) == 2
    assert outbox.read_notifications(start) == []
    assert outbox.last_notification_id() == second[-1].id


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_notifications_that_arrive_while_the_listener_lends_its_connection_are_kept(
    store: Store,
) -> None:
    """A worker claims on its listener's connection (PostgreSQL): a cancel or new work
    notified while a statement runs there is delivered by the next wait, not lost."""
    listener = store.open_listener()
    try:
        store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t"))
        running = make_job(store, S.RUNNING)
        lent = listener.lend()
        assert lent is not None, "PostgreSQL lends the LISTEN connection"
        with lent:  # the cancel runs on the listening session, which hears its NOTIFY
            store.cancel_jobs([running.id], actor=None, reason=None)  # while not waiting
        note = listen_for(listener, lambda n: n.channel == "cancel")
        assert note.job_ids == (running.id,)
    finally:
        listener.close()
