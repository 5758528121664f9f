"""The SQLite wake-up path: doorbell datagrams, the outbox poll, the heartbeat fallback."""

from __future__ import annotations

import time

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import WorkerInfo
from corral.store.engine import Engine
from corral.store.sqlite.doorbell import DoorbellListener
from corral.store.sqlite.driver import SQLiteDriver
from corral.worker.heartbeat import Heartbeat
from tests.factories import WORKER, make_job, new_job


def doorbell(store: Store, poll_interval: float) -> DoorbellListener:
    """The SQLite driver's listener (what ``store.open_listener()`` makes), with a poll
    interval of the test's choosing."""
    assert isinstance(store, Engine) and isinstance(store.driver, SQLiteDriver)
    return DoorbellListener(store.driver, poll_interval=poll_interval)


def register(store: Store, listener: DoorbellListener | None) -> None:
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t",
                                     listener.address if listener else None))


def test_enqueue_rings_the_doorbell_of_workers_on_that_queue(sqlite_store: Store) -> None:
    store = sqlite_store
    listener = doorbell(store, 30)
    register(store, listener)
    store.enqueue_jobs([new_job(queue="default")])
    started = time.monotonic()
    notes = listener.wait()
    assert time.monotonic() - started < 10, "woken by the bell, not the 30 s poll"
    assert [(n.channel, n.queue) for n in notes] == [("jobs", "default")]
    listener.close()


def test_cancel_rings_the_holder_which_reads_the_outbox(sqlite_store: Store) -> None:
    store = sqlite_store
    listener = doorbell(store, 30)
    register(store, listener)
    job = make_job(store, JobStatus.RUNNING)
    listener.wait(timeout=0)  # drain the enqueue bell
    store.cancel_jobs([job.id], actor="me", reason="stop")
    notes = listener.wait()
    assert [(n.channel, n.job_ids) for n in notes] == [("cancel", (job.id,))]
    listener.close()


def test_a_lost_datagram_is_covered_by_the_outbox_poll(sqlite_store: Store) -> None:
    store = sqlite_store
    register(store, None)  # no doorbell address: nobody is rung
    listener = doorbell(store, 0.05)
    job = make_job(store, JobStatus.RUNNING)
    store.cancel_jobs([job.id], actor="me", reason=None)
    deadline = time.monotonic() + 10
    found = []
    while not found and time.monotonic() < deadline:
        found = [n for n in listener.wait() if n.channel == "cancel"]
    assert found and found[0].job_ids == (job.id,)
    listener.close()


def test_heartbeat_delivers_a_cancel_every_notification_missed(store: Store) -> None:
    register(store, None)
    job = make_job(store, JobStatus.CANCELLING)
    cancels: list[str] = []
    lost: list[str] = []
    beat = Heartbeat(store, WORKER, 1.0, held=lambda before: {job.id},
                     on_cancel=cancels.append, on_lost=lost.append)
    beat.beat()
    assert cancels == [job.id] and lost == []


def test_heartbeat_reports_jobs_taken_from_the_worker_as_lost(store: Store) -> None:
    register(store, None)
    job = make_job(store, JobStatus.RUNNING)
    store.cancel_jobs([job.id], actor="ops", reason=None, force=True)
    lost: list[str] = []
    beat = Heartbeat(store, WORKER, 1.0, held=lambda before: {job.id},
                     on_cancel=lambda _: None, on_lost=lost.append)
    beat.beat()
    assert lost == [job.id]
