"""Every ``a``-prefixed twin returns (and raises) what its sync method does."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

import corral
from corral import errors, ids
from corral.status import JobStatus

S = JobStatus


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
