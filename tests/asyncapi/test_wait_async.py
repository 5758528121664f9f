"""``wait_async``: never blocks the loop, and every waiter of a process shares one watcher
thread per store (no thread or poll per waiting coroutine)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

import corral
from corral import errors, waiters
from corral.status import JobStatus
from corral.worker.worker import Worker
from tests.asyncapi.conftest import until, while_ticking
from tests.waiting import wait_until

S = JobStatus


def watcher_threads() -> int:
    return sum(1 for thread in threading.enumerate()
               if thread.name == waiters.THREAD_NAME and thread.is_alive())


def test_wait_async_returns_the_job_a_worker_completed_without_blocking_the_loop(
        client: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[[], Worker]) -> None:
    start_worker()
    handle: corral.JobHandle = tasks.async_sleep.enqueue(0.5)
    job, gaps = while_ticking(handle.wait_async(timeout=15))
    assert job.status == S.COMPLETED and job.result == "done"
    assert handle.job == job
    assert max(gaps) < 0.1, f"the loop was blocked for {max(gaps):.3f}s"


def test_two_hundred_waiters_on_one_loop_share_one_watcher_thread(
        client: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[[], Worker]) -> None:
    url = client.settings.database_url
    handles = client.enqueue_many([tasks.noop.s(i) for i in range(200)])
    before = watcher_threads()

    async def main() -> list[corral.Job]:
        waiting = [asyncio.create_task(handle.wait_async(timeout=60)) for handle in handles]
        await until(lambda: waiters.waiting(url) == 200, message="200 registered waiters")
        assert watcher_threads() <= before + 1
        watcher = waiters.watcher_of(url)
        assert watcher is not None and watcher.thread.is_alive()
        await asyncio.to_thread(start_worker)
        jobs = await asyncio.gather(*waiting)
        assert waiters.watcher_of(url) is watcher  # the same one all along
        return jobs

    jobs = asyncio.run(main())
    assert [job.status for job in jobs] == [S.COMPLETED] * 200
    assert [job.result for job in jobs] == list(range(200))
    assert waiters.waiting(url) == 0


def test_a_cancelled_waiting_coroutine_leaves_no_waiter_behind(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    url = client.settings.database_url
    handle = tasks.noop.enqueue()

    async def main() -> None:
        waiting = asyncio.create_task(handle.wait_async())
        await until(lambda: waiters.waiting(url) == 1, message="the waiter to register")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert waiters.waiting(url) == 0

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.wait_async(), 0.1)
        assert waiters.waiting(url) == 0

    asyncio.run(main())


def test_wait_async_raises_job_wait_timeout_for_a_job_nobody_runs(
        client: corral.Corral, tasks: SimpleNamespace) -> None:
    url = client.settings.database_url
    handle = tasks.noop.enqueue()
    started = time.monotonic()
    with pytest.raises(errors.JobWaitTimeout) as timed_out:
        asyncio.run(handle.wait_async(timeout=0.2))
    assert 0.2 <= time.monotonic() - started < 5
    assert timed_out.value.context == {"job_id": handle.id, "status": "queued",
                                       "timeout": 0.2}
    assert waiters.waiting(url) == 0


def test_waiters_on_two_event_loops_share_the_watcher_of_their_store(
        client: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[[], Worker]) -> None:
    url = client.settings.database_url
    handles = [tasks.noop.enqueue(i) for i in range(2)]
    seen: list[waiters.Watcher | None] = []
    results: list[corral.Job] = []

    async def wait(handle: corral.JobHandle) -> None:
        waiting = asyncio.create_task(handle.wait_async(timeout=30))
        await until(lambda: waiters.waiting(url) == 2, message="both loops' waiters")
        seen.append(waiters.watcher_of(url))
        results.append(await waiting)

    threads = [threading.Thread(target=asyncio.run, args=(wait(handle),)) for handle in handles]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(seen) == 2, message="both loops waiting")
    start_worker()
    for thread in threads:
        thread.join(30)
    assert seen[0] is not None and seen[0] is seen[1]
    assert sorted(job.result for job in results) == [0, 1]


def test_the_watcher_stops_and_closes_its_feed_once_no_waiter_is_left(
        client: corral.Corral, tasks: SimpleNamespace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiters, "IDLE_STOP", 0.2)
    url = client.settings.database_url
    handle = tasks.noop.enqueue()
    with pytest.raises(errors.JobWaitTimeout):
        asyncio.run(handle.wait_async(timeout=0.1))
    watcher = waiters.watcher_of(url)
    assert watcher is not None
    wait_until(lambda: not watcher.thread.is_alive(), message="the idle watcher to stop")
    assert waiters.watcher_of(url) is None
    client.cancel(handle.id)  # a new waiter starts a new watcher
    assert asyncio.run(handle.wait_async(timeout=10)).status == S.CANCELLED
