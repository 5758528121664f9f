"""Live routes on both stores, over a real server: server-sent event streams (order, end on
completion, end when the client goes), the long-poll, many idle streams on few threads,
and /metrics."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import corral
from corral.http import create_app
from tests.http.serving import serving, sse_events
from tests.waiting import wait_until

TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
def api(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[tuple[str, Any]]:
    """(base URL, the ASGI app) of a real server on the test store."""
    asgi = create_app(app)
    with serving(asgi) as base:
        yield base, asgi


def collect(url: str, *, until: Callable[[list[tuple[str, Any]]], bool] | None = None,
            into: list[tuple[str, Any]] | None = None,
            timeout: float = 60.0) -> list[tuple[str, Any]]:
    """The events of a stream until it ends (or ``until`` holds), appended to ``into`` as
    they arrive."""
    seen: list[tuple[str, Any]] = [] if into is None else into
    with httpx.stream("GET", url, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for item in sse_events(response):
            seen.append(item)
            if until and until(seen):
                break
    return seen


def follow(url: str) -> tuple[list[tuple[str, Any]], threading.Thread]:
    """Read a stream in a thread; returns once its first event is in."""
    events: list[tuple[str, Any]] = []
    reader = threading.Thread(target=collect, args=(url,), kwargs={"into": events})
    reader.start()
    wait_until(lambda: events, message="the first event")
    return events, reader


def test_job_stream_sends_updates_in_order_then_completes_and_closes(
        api: tuple[str, Any], app: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[..., Any]) -> None:
    base, _ = api
    job = tasks.ticker.enqueue("RY", steps=8, step=0.03)
    events, reader = follow(f"{base}/jobs/{job.id}/stream")
    start_worker()
    reader.join(60)
    assert not reader.is_alive(), "the stream did not end when the job completed"
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "job_update" and events[0][1]["status"] == "queued"
    assert kinds[-1] == "job_complete" and kinds.count("job_complete") == 1
    assert set(kinds[:-1]) == {"job_update"}
    final = events[-1][1]
    assert final["status"] == "completed" and final["result"] == {"name": "RY", "digested": 8}
    order = ["queued", "running", "completed"]
    statuses = [data["status"] for _, data in events]
    assert statuses == sorted(statuses, key=order.index)  # never back in time
    running = [data for _, data in events if data["status"] == "running"]
    assert len({(d["phase"], d["progress"]["current"]) for d in running}) > 3  # bar moves


def test_stream_of_a_finished_job_completes_at_once(api: tuple[str, Any],
                                                    app: corral.Corral,
                                                    tasks: SimpleNamespace) -> None:
    base, _ = api
    job = tasks.noop.enqueue()
    job.cancel(reason="not needed")
    events = collect(f"{base}/jobs/{job.id}/stream")
    assert [kind for kind, _ in events] == ["job_complete"]
    assert events[0][1]["status"] == "cancelled"
    assert events[0][1]["cancel_reason"] == "not needed"


def test_stream_of_an_unknown_job_is_a_404_before_streaming(api: tuple[str, Any]) -> None:
    base, _ = api
    response = httpx.get(f"{base}/jobs/0123456789ab/stream")
    assert response.status_code == 404
    assert response.json()["error"] == "JobNotFound"
    assert httpx.get(f"{base}/batches/nope/stream").json()["error"] == "BatchNotFound"


def test_job_stream_tells_of_a_cancel_request_and_the_stop(
        api: tuple[str, Any], app: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[..., Any], is_marked: Callable[[str, str], bool]) -> None:
    base, _ = api
    start_worker()
    job = tasks.spin.enqueue()
    wait_until(lambda: is_marked(job.id, "started"), message="the job to start")
    events, reader = follow(f"{base}/jobs/{job.id}/stream")
    response = httpx.post(f"{base}/jobs/{job.id}/cancel", json={"reason": "stop it"})
    assert response.json()["status"] in ("cancelling", "cancelled")
    reader.join(60)
    assert events[-1][0] == "job_complete" and events[-1][1]["status"] == "cancelled"
    assert events[-1][1]["cancel_reason"] == "stop it"


def test_batch_stream_counts_until_every_job_has_finished(
        api: tuple[str, Any], app: corral.Corral, tasks: SimpleNamespace,
        start_worker: Callable[..., Any]) -> None:
    base, _ = api
    batch = app.batch([tasks.quick.s() for _ in range(5)], name="five")
    events, reader = follow(f"{base}/batches/{batch.id}/stream")
    start_worker()
    reader.join(60)
    assert events[0] == ("batch_update", events[0][1]) and events[0][1]["state"] == "queued"
    assert events[-1][0] == "batch_complete"
    final = events[-1][1]
    assert final["counts"]["completed"] == final["total"] == 5 and final["progress"] == 1.0
    assert final["state"] == "completed"


def test_event_stream_carries_every_change_including_deletes(api: tuple[str, Any],
                                                             app: corral.Corral,
                                                             tasks: SimpleNamespace) -> None:
    base, _ = api
    events: list[tuple[str, Any]] = []
    done = threading.Event()

    def read() -> None:
        collect(f"{base}/events/stream", into=events,
                until=lambda seen: seen[-1][0] == "job_deleted")
        done.set()

    threading.Thread(target=read, daemon=True).start()
    wait_until(lambda: events and events[0][0] == "ready", message="the stream to be ready")

    def heard(kind: str, status: str | None) -> bool:
        return (kind, status) in [(k, d.get("status")) for k, d in events if d.get("id") == job.id]

    job = tasks.noop.enqueue(1)
    wait_until(lambda: heard("job_update", "queued"), message="the enqueue")
    job.cancel(reason="changed my mind")
    wait_until(lambda: heard("job_update", "cancelled"), message="the cancel")
    app.delete(job.id)
    assert done.wait(30), f"no job_deleted among {events}"
    assert events[-1] == ("job_deleted", {"id": job.id})


def test_long_poll_returns_when_the_status_changes(api: tuple[str, Any],
                                                   app: corral.Corral,
                                                   tasks: SimpleNamespace) -> None:
    base, _ = api
    job = tasks.noop.enqueue()
    answer: list[httpx.Response] = []
    poller = threading.Thread(target=lambda: answer.append(httpx.get(
        f"{base}/jobs/{job.id}/poll", params={"current_status": "queued", "timeout": 30},
        timeout=60)))
    poller.start()
    wait_until(lambda: app_watchers(api) == 1, message="the poll to be waiting")
    job.cancel()
    poller.join(30)
    assert answer and answer[0].status_code == 200
    assert answer[0].json()["status"] == "cancelled"


def test_long_poll_times_out_with_the_job_unchanged(api: tuple[str, Any],
                                                    tasks: SimpleNamespace) -> None:
    base, _ = api
    job = tasks.noop.enqueue()
    started = time.monotonic()
    response = httpx.get(f"{base}/jobs/{job.id}/poll",
                         params={"current_status": "queued", "timeout": 0.3})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert time.monotonic() - started >= 0.3
    assert httpx.get(f"{base}/jobs/0123456789ab/poll").json()["error"] == "JobNotFound"
    bad = httpx.get(f"{base}/jobs/{job.id}/poll", params={"timeout": "soon"})
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"


def app_watchers(api: tuple[str, Any]) -> int:
    return int(api[1].state.hub.watchers)


def test_hundreds_of_idle_streams_share_a_few_threads_and_all_hear_a_change(
        api: tuple[str, Any], tasks: SimpleNamespace) -> None:
    base, _ = api
    streams = 200
    threads_before = threading.active_count()

    async def watch_all() -> list[str]:
        limits = httpx.Limits(max_connections=streams + 10)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            async def one() -> str:
                async with client.stream("GET", f"{base}/events/stream") as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data:") and '"status"' in line:
                            return line
                return ""

            watchers = [asyncio.create_task(one()) for _ in range(streams)]
            await asyncio.to_thread(wait_until, lambda: app_watchers(api) == streams,
                                    timeout=60, message="every stream to subscribe")
            assert threading.active_count() - threads_before < 20
            await asyncio.to_thread(tasks.noop.enqueue, "hello")
            return await asyncio.gather(*watchers)

    heard = asyncio.run(watch_all())
    assert len(heard) == streams and all('"queued"' in line for line in heard)
    wait_until(lambda: app_watchers(api) == 0, message="closed streams to unsubscribe")


def test_metrics_in_prometheus_format(api: tuple[str, Any], app: corral.Corral,
                                      tasks: SimpleNamespace, start_worker: Callable[..., Any],
                                      is_marked: Callable[[str, str], bool]) -> None:
    base, _ = api
    start_worker()
    done = tasks.noop.enqueue(1)
    assert done.wait(timeout=30).status == "completed"
    spinning = tasks.spin.enqueue()
    wait_until(lambda: is_marked(spinning.id, "started"), message="the job to start")
    spinning.cancel(reason="metrics")
    assert spinning.wait(timeout=30).status == "cancelled"
    tasks.noop.s().set(queue="later").enqueue()

    def scrape() -> str:
        response = httpx.get(f"{base}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    def both_observed() -> str | None:
        text = scrape()
        wanted = ('corral_cancel_latency_seconds_count{queue="default"} 1.0',
                  'corral_job_duration_seconds_count{queue="default",status="completed"} 1.0')
        return text if all(line in text for line in wanted) else None

    text = wait_until(both_observed, message="the histograms to see both jobs")
    assert 'corral_jobs{queue="default",status="completed"} 1.0' in text
    assert 'corral_jobs{queue="default",status="cancelled"} 1.0' in text
    assert 'corral_queue_depth{queue="later"} 1.0' in text
    assert 'corral_workers{state="running"} 1.0' in text


def test_batch_stream_announces_the_deletion_of_its_own_jobs_only(
        api: tuple[str, Any], app: corral.Corral, tasks: SimpleNamespace) -> None:
    """Before: a deleted job was told on its own stream and the event feed, never on its
    batch's stream (the hub routed changes by the job's batch, which a deleted row no
    longer has)."""
    base, _ = api
    batch = app.batch([tasks.noop.s(1), tasks.noop.s(2)], name="two")
    other = app.batch([tasks.noop.s(3)], name="other")
    events, reader = follow(f"{base}/batches/{batch.id}/stream")
    first, second = batch.jobs
    app.cancel(other.jobs[0].id)
    app.delete(other.jobs[0].id)
    app.cancel(first.id)  # finished, so it can be deleted; the second keeps the batch open
    app.delete(first.id)
    wait_until(lambda: ("job_deleted", {"id": first.id, "batch_id": batch.id}) in events,
               message="the deletion on the batch stream")
    app.cancel(second.id)
    reader.join(30)
    assert [data["id"] for kind, data in events if kind == "job_deleted"] == [first.id]
    assert events[-1][0] == "batch_complete" and events[-1][1]["total"] == 1
