"""Every ``a``-prefixed twin returns (and raises) what its sync method does."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

import corral
from corral import errors, ids
from corral.bulk import StuckReset
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import QueueInfo, WorkerRecord
from corral.worker.worker import Worker
from tests.asyncapi.conftest import while_ticking
from tests.factories import make_job, register_worker

S = JobStatus

NO_STORE = {
    # the registry, and the hooks integrations override (write_jobs is enqueue's funnel)
    corral.Corral: {"task", "periodic", "get_task", "close", "prepare_function",
                    "write_jobs"},
    corral.JobHandle: {"wait"},  # its twin is wait_async: a waiter holds no thread
    corral.BatchHandle: {"wait"},
}
"""Public methods that need no ``a`` twin; every other public method touches the store."""


@pytest.mark.parametrize("cls", list(NO_STORE), ids=lambda cls: cls.__name__)
def test_every_public_store_touching_method_has_an_async_twin_with_its_signature(
        cls: type) -> None:
    methods = {name: member for name, member in vars(cls).items()
               if not name.startswith("_") and inspect.isfunction(member)}
    synchronous = {name for name in methods
                   if not inspect.iscoroutinefunction(methods[name])}
    missing = sorted(synchronous - NO_STORE[cls] - {name[1:] for name in methods})
    assert missing == [], f"{cls.__name__} has no async twin of {missing}"
    for name in sorted(synchronous - NO_STORE[cls]):
        twin = methods[f"a{name}"]
        assert inspect.iscoroutinefunction(twin), f"{cls.__name__}.a{name} is not async"
        assert inspect.signature(twin) == inspect.signature(methods[name])
        assert twin.__qualname__ == f"{cls.__name__}.a{name}"
    if "wait" in methods:
        assert inspect.iscoroutinefunction(methods["wait_async"])


def test_task_aenqueue_then_aget_job_returns_the_job_get_job_returns(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    async def main() -> tuple[corral.JobHandle, corral.Job]:
        handle = await tasks.noop.aenqueue(7)
        return handle, await client.aget_job(handle.id)

    handle, job = asyncio.run(main())
    assert isinstance(handle, corral.JobHandle)
    assert job == client.get_job(handle.id)
    assert job.status == S.QUEUED and job.args == [7]


def test_signature_aenqueue_keeps_per_call_options(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = asyncio.run(tasks.noop.s(1).set(queue="elsewhere", priority=3).aenqueue())
    job = client.get_job(handle.id)
    assert (job.queue, job.priority, job.args) == ("elsewhere", 3, [1])


def test_aenqueue_many_enqueues_every_job_like_enqueue_many(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handles = asyncio.run(client.aenqueue_many([tasks.noop.s(i) for i in range(3)],
                                               actor="ops@test"))
    jobs = [client.get_job(handle.id) for handle in handles]
    assert [job.args for job in jobs] == [[0], [1], [2]]
    assert [event.actor for event in client.job_events(handles[0].id)] == ["ops@test"]


def test_alist_jobs_returns_what_list_jobs_returns(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    client.enqueue_many([tasks.noop.s(i) for i in range(3)] + [tasks.boom.s()])
    listed = asyncio.run(client.alist_jobs(task="noop", status="queued", limit=None))
    assert listed == client.list_jobs(task="noop", status="queued", limit=None)
    assert len(listed) == 3


def test_acancel_of_a_queued_job_ends_it_cancelled_and_arestart_queues_it_again(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()

    async def main() -> tuple[corral.Job, corral.Job]:
        cancelled = await client.acancel(handle.id, reason="not today", actor="ops@test")
        return cancelled, await client.arestart(handle.id, reason="today after all")

    cancelled, restarted = asyncio.run(main())
    assert cancelled.status == S.CANCELLED and restarted.status == S.QUEUED
    assert restarted == client.get_job(handle.id)


def test_twins_raise_what_their_sync_methods_raise(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    client.cancel(handle.id)
    with pytest.raises(errors.JobAlreadyFinished) as finished:
        asyncio.run(client.acancel(handle.id))
    assert finished.value.context["status"] == "cancelled"
    with pytest.raises(errors.JobNotRestartable):
        asyncio.run(client.arestart(tasks.noop.enqueue().id))
    with pytest.raises(errors.JobNotFound):
        asyncio.run(client.aget_job(ids.uuid7()))


def test_acancel_batch_cancels_the_active_jobs_then_finds_none(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    batch = client.batch([tasks.noop.s(i) for i in range(3)], name="nightly")

    async def main() -> tuple[dict[str, object], dict[str, object]]:
        first = await client.acancel_batch(batch.id, reason="stop")
        return first, await client.acancel_batch(batch.id)

    first, second = asyncio.run(main())
    assert first["status"] == "cancelled" and first["jobs_cancelled"] == 3
    assert sorted(first["job_ids"]) == sorted(job.id for job in batch.jobs)  # type: ignore[call-overload]
    assert second == {"status": "no_jobs_to_cancel", "batch_id": batch.id,
                      "jobs_cancelled": 0, "job_ids": []}


def test_arefresh_reads_the_job_again_and_keeps_it_on_the_handle(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    client.cancel(handle.id)
    assert handle.status == S.QUEUED
    job = asyncio.run(handle.arefresh())
    assert job.status == S.CANCELLED and handle.job == job == client.get_job(handle.id)


def test_aenqueue_and_ajob_give_handles_on_the_job_enqueue_and_job_give(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    async def main() -> tuple[corral.JobHandle, corral.JobHandle]:
        handle = await client.aenqueue(tasks.noop.s(5).set(queue="twins"), actor="ops@test")
        return handle, await client.ajob(handle.id)

    handle, again = asyncio.run(main())
    assert isinstance(handle, corral.JobHandle) and isinstance(again, corral.JobHandle)
    assert handle.job == again.job == client.job(handle.id).job
    assert (handle.job.queue, handle.job.args) == ("twins", [5])
    assert [event.actor for event in client.job_events(handle.id)] == ["ops@test"]
    with pytest.raises(errors.JobNotFound):
        asyncio.run(client.ajob(ids.uuid7()))


def test_queue_twins_pause_limit_and_resume_like_the_sync_calls(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    def rules(queues: list[QueueInfo]) -> tuple[bool, int | None]:
        (found,) = [queue for queue in queues if queue.name == "twins"]
        return found.paused, found.concurrency

    async def main() -> list[tuple[bool, int | None]]:
        seen = []
        await client.apause_queue("twins")
        await client.aset_queue_limit("twins", 2)
        seen.append(rules(await client.aqueues()))
        await client.aresume_queue("twins")
        seen.append(rules(await client.aqueues()))
        await client.aset_queue_limit("twins", None)
        seen.append(rules(await client.aqueues()))
        return seen

    assert asyncio.run(main()) == [(True, 2), (False, 2), (False, None)]
    assert asyncio.run(client.aqueues()) == client.queues()
    with pytest.raises(errors.ConfigError):
        asyncio.run(client.aset_queue_limit("twins", 0))
    with pytest.raises(errors.ConfigError):
        asyncio.run(client.apause_queue(""))


def test_astats_and_aworkers_return_what_stats_and_workers_return(
        client: corral.Corral, tasks: SimpleNamespace, store: Store) -> None:
    lock = register_worker(store, "w-twins")
    try:
        running = make_job(store, S.RUNNING, worker="w-twins")
        client.enqueue_many([tasks.noop.s(i) for i in range(2)])

        async def main() -> tuple[dict[str, Any], list[tuple[WorkerRecord, list[corral.Job]]]]:
            return await client.astats(), await client.aworkers()

        stats, workers = asyncio.run(main())
        assert stats == client.stats() and workers == client.workers()
        assert stats["counts"] == {**{str(s): 0 for s in S}, "queued": 2, "running": 1}
        assert stats["workers"] == {"alive": 1, "stopped": 0, "dead": 0}
        assert [(worker.id, [job.id for job in jobs]) for worker, jobs in workers] == [
            ("w-twins", [running.id])]
    finally:
        lock.release()


def test_batch_twins_create_read_list_and_cancel_like_the_sync_calls(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    async def create() -> corral.BatchHandle:
        return await client.abatch([tasks.noop.s(i) for i in range(3)], name="nightly")

    handle = asyncio.run(create())
    assert isinstance(handle, corral.BatchHandle) and len(handle.jobs) == 3
    assert [job.job.batch_id for job in handle.jobs] == [handle.id] * 3

    async def read() -> tuple[corral.Batch, corral.Batch, list[corral.Batch]]:
        return (await client.aget_batch(handle.id), await handle.arefresh(),
                await client.alist_batches())

    got, refreshed, listed = asyncio.run(read())
    assert got == refreshed == client.get_batch(handle.id) == handle.refresh()
    assert (got.name, got.total, got.state) == ("nightly", 3, "queued")
    assert listed == client.list_batches() and [batch.id for batch in listed] == [handle.id]
    with pytest.raises(errors.BatchNotFound):
        asyncio.run(client.aget_batch(ids.uuid7()))

    cancelled = asyncio.run(handle.acancel(reason="stop"))
    assert cancelled["status"] == "cancelled" and cancelled["jobs_cancelled"] == 3
    assert handle.cancel() == {"status": "no_jobs_to_cancel", "batch_id": handle.id,
                               "jobs_cancelled": 0, "job_ids": []}
    finished = asyncio.run(handle.wait_async(timeout=5))  # already finished: at once
    assert finished == handle.wait(timeout=5) and finished.state == "cancelled"


def test_batch_wait_async_returns_the_finished_batch_without_blocking_the_loop(
        client: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[[], Worker]) -> None:
    start_worker()
    handle = client.batch([tasks.async_sleep.s(0.4), tasks.noop.s(1), tasks.noop.s(2)])
    batch, gaps = while_ticking(handle.wait_async(timeout=15))
    assert batch.is_finished and batch.state == "completed"
    assert batch.counts == client.get_batch(handle.id).counts
    assert [client.get_job(job.id).status for job in handle.jobs] == [S.COMPLETED] * 3
    assert max(gaps) < 0.1, f"the loop was blocked for {max(gaps):.3f}s"
    assert sorted(gaps)[len(gaps) // 2] < 0.03, "the loop was blocked between polls"


def test_batch_wait_async_times_out_like_wait(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = client.batch([tasks.noop.s(1)])  # no worker: it stays queued
    started = time.monotonic()
    with pytest.raises(errors.JobWaitTimeout) as waited_async:
        asyncio.run(handle.wait_async(timeout=0.3))
    elapsed = time.monotonic() - started
    with pytest.raises(errors.JobWaitTimeout) as waited:
        handle.wait(timeout=0.3)
    assert waited_async.value.context == waited.value.context == {
        "job_id": handle.id, "status": "queued", "timeout": 0.3}
    assert 0.3 <= elapsed < 2.0


def test_aresolve_id_and_the_event_twins_return_what_the_sync_calls_return(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    client.cancel(handle.id, actor="ops@test")
    short = handle.id.replace("-", "")[-12:]

    async def main() -> tuple[str, list[corral.JobEvent], list[corral.JobEvent]]:
        return (await client.aresolve_id(short), await client.ajob_events(handle.id),
                await handle.aevents())

    resolved, events, handle_events = asyncio.run(main())
    assert resolved == client.resolve_id(short) == handle.id
    assert events == handle_events == client.job_events(handle.id) == handle.events()
    assert [(event.to_status, event.actor) for event in events][-1] == (S.CANCELLED,
                                                                         "ops@test")
    with pytest.raises(errors.InvalidJobId):
        asyncio.run(client.aresolve_id("zz"))
    with pytest.raises(errors.JobNotFound):
        asyncio.run(client.ajob_events(ids.uuid7()))


def test_bulk_twins_cancel_restart_and_delete_like_the_sync_calls(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    job_ids = [h.id for h in client.enqueue_many([tasks.noop.s(i).set(queue="bulk")
                                                  for i in range(3)])]
    dry = asyncio.run(client.acancel_many(queue="bulk", dry_run=True))
    assert dry == client.cancel_many(queue="bulk", dry_run=True)
    assert sorted(dry.matched) == sorted(job_ids) and dry.done == []

    cancelled = asyncio.run(client.acancel_many(queue="bulk", reason="stop", actor="ops"))
    assert sorted(cancelled.done) == sorted(job_ids)
    assert {client.get_job(job_id).status for job_id in job_ids} == {S.CANCELLED}

    restarted = asyncio.run(client.arestart_many(job_ids[:2], reason="again"))
    assert sorted(restarted.done) == sorted(job_ids[:2])
    assert restarted.became == {job_id: "queued" for job_id in job_ids[:2]}
    assert asyncio.run(client.arestart_many(job_ids[:2], dry_run=True)) == \
        client.restart_many(job_ids[:2], dry_run=True)

    deleted = asyncio.run(client.adelete_many(job_ids))
    assert deleted.done == [job_ids[2]]
    assert deleted.refused == {job_id: "queued" for job_id in job_ids[:2]}
    with pytest.raises(errors.ConfigError):
        asyncio.run(client.acancel_many())
    with pytest.raises(errors.ConfigError):
        asyncio.run(client.adelete_many())


def test_adelete_deletes_a_finished_job_and_refuses_what_delete_refuses(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    finished, active = tasks.noop.enqueue(), tasks.noop.enqueue()
    client.cancel(finished.id)
    assert asyncio.run(client.adelete(finished.id)) is None
    with pytest.raises(errors.JobNotFound):
        client.get_job(finished.id)
    with pytest.raises(errors.JobNotFound):
        asyncio.run(client.adelete(finished.id))
    with pytest.raises(errors.JobActive) as refused:
        asyncio.run(client.adelete(active.id))
    assert refused.value.context["status"] == "queued"
    assert client.get_job(active.id).status == S.QUEUED


def test_arun_now_makes_a_scheduled_job_due_and_refuses_any_other(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    first = tasks.noop.s(1).set(delay="1h").enqueue()
    second = tasks.noop.s(2).set(delay="1h").enqueue()
    assert first.status == second.status == S.SCHEDULED

    async def main() -> tuple[corral.Job, corral.Job]:
        return await client.arun_now(first.id, actor="alice"), await second.arun_now()

    due, handled = asyncio.run(main())
    assert due.status == handled.status == S.QUEUED
    assert due == client.get_job(first.id) and handled == second.job == second.refresh()
    assert [e.actor for e in client.job_events(first.id) if e.kind == "run_now"] == ["alice"]
    with pytest.raises(errors.JobNotScheduled) as refused:
        asyncio.run(client.arun_now(first.id))
    assert refused.value.context["status"] == "queued"


def test_handle_acancel_and_arestart_keep_the_new_job_on_the_handle(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    cancelled = asyncio.run(handle.acancel(reason="not now", actor="ops@test"))
    assert cancelled.status == S.CANCELLED and handle.job == cancelled
    assert cancelled == client.get_job(handle.id)
    restarted = asyncio.run(handle.arestart(reason="now"))
    assert restarted.status == S.QUEUED and handle.job == restarted
    assert restarted == client.get_job(handle.id)
    with pytest.raises(errors.JobNotRestartable):
        asyncio.run(handle.arestart())
    assert handle.job == restarted


def test_areset_stuck_returns_what_reset_stuck_returns(
        client: corral.Corral, store: Store) -> None:
    lock = register_worker(store, "alive")
    try:
        on_live = make_job(store, S.RUNNING, worker="alive")
        on_dead = make_job(store, S.RUNNING, worker="dead", dead_worker=True)
        would = asyncio.run(client.areset_stuck(0, dry_run=True))
        assert would == client.reset_stuck(0, dry_run=True)
        assert would == StuckReset(failed=[on_dead.id], cancelled=[on_live.id])
        assert asyncio.run(client.areset_stuck("1h")) == []
        done = asyncio.run(client.areset_stuck(0, reason="stuck", actor="ops@test"))
        assert sorted(done) == sorted(would.job_ids)
        assert client.get_job(on_dead.id).status == S.FAILED
        assert client.get_job(on_live.id).status == S.CANCELLING
    finally:
        lock.release()


def test_aprune_deletes_what_prune_would_and_returns_the_count(
        client: corral.Corral, store: Store) -> None:
    old = make_job(store, S.COMPLETED, age=timedelta(hours=2))
    fresh = make_job(store, S.COMPLETED)
    assert asyncio.run(client.aprune(keep_completed="1h")) == 1
    with pytest.raises(errors.JobNotFound):
        client.get_job(old.id)
    assert client.get_job(fresh.id).status == S.COMPLETED
    assert client.prune(keep_completed="1h") == 0
