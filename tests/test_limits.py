"""Queue limits, pause/resume and per-key limits, held by real worker processes claiming
at once on both stores: the most jobs ever seen running together is the evidence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from corral.store import limits
from tests.waiting import wait_until


def max_overlap(marks: Path, key: str | None = None) -> int:
    """The most recorded intervals (of ``key`` if given) that overlap at one instant."""
    edges = []
    for path in marks.glob("*.interval"):
        start, end, limit_key = (path.read_text().split(" ") + [""])[:3]
        if key is None or limit_key == key:
            edges += [(float(start), 1), (float(end), -1)]
    running = peak = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        running += step
        peak = max(peak, running)
    return peak


def drained(app: corral.Corral, n: int) -> Callable[[], bool]:
    return lambda: len(app.list_jobs(status="completed", limit=None)) == n


def test_sequential_queue_runs_one_job_at_a_time_across_workers(
    app: corral.Corral, tasks: SimpleNamespace, start_worker, marks: Path
) -> None:
    app.set_queue_limit("seq", 1)
    app.enqueue_many([tasks.interval.s(20).set(queue="seq") for _ in range(16)])
    for _ in range(4):
        start_worker(queues="seq", concurrency=4)
    wait_until(drained(app, 16), timeout=60, message="16 jobs done")
    assert max_overlap(marks) == 1


def test_queue_limit_caps_concurrency_and_jobs_over_it_wait(
    app: corral.Corral, tasks: SimpleNamespace, start_worker, marks: Path
) -> None:
    app.set_queue_limit("capped", 3)
    app.enqueue_many([tasks.interval.s(40).set(queue="capped") for _ in range(24)])
    for _ in range(4):
        start_worker(queues="capped", concurrency=4)
    wait_until(drained(app, 24), timeout=60, message="24 jobs done")
    assert 1 < max_overlap(marks) <= 3
    assert not app.list_jobs(status="failed")  # over the limit means waiting, never failing


def test_key_limit_holds_per_key_across_workers(
    app: corral.Corral, tasks: SimpleNamespace, start_worker, marks: Path
) -> None:
    jobs = [tasks.interval.s(30).set(limit_key=f"user-{i % 2}", key_limit=2)
            for i in range(20)]
    app.enqueue_many(jobs)
    for _ in range(4):
        start_worker(concurrency=4)
    wait_until(drained(app, 20), timeout=60, message="20 jobs done")
    assert max_overlap(marks, "user-0") <= 2 and max_overlap(marks, "user-1") <= 2
    assert max_overlap(marks) > 2  # the keys do not limit each other


def test_paused_queue_starts_nothing_until_resumed(
    app: corral.Corral, tasks: SimpleNamespace, start_worker
) -> None:
    app.pause_queue("held")
    held = tasks.noop.s(1).set(queue="held").enqueue()
    start_worker(queues="held,default")
    # a job on another queue completes: the worker has claimed since the pause
    tasks.noop.enqueue(2).wait(timeout=15)
    assert held.refresh().status == JobStatus.QUEUED
    info = {q.name: q for q in app.queues()}["held"]
    assert info.paused and info.queued == 1
    app.resume_queue("held")
    assert held.wait(timeout=15).status == JobStatus.COMPLETED


def test_queue_settings_are_validated_and_listed(app: corral.Corral) -> None:
    with pytest.raises(corral.ConfigError):
        app.set_queue_limit("q", 0)
    with pytest.raises(corral.ConfigError):
        app.pause_queue("")
    app.set_queue_limit("q", 2)
    app.pause_queue("q")
    app.set_queue_limit("q", None)  # removing the limit keeps the pause
    info = {q.name: q for q in app.queues()}["q"]
    assert info.concurrency is None and info.paused


def test_pick_fills_slots_best_first_within_queue_and_key_limits() -> None:
    def row(id: str, queue: str = "a", key: str | None = None, key_limit: int | None = None,
            running: int = 0) -> dict:
        return {"id": id, "queue": queue, "limit_key": key, "key_limit": key_limit,
                "key_running": running}

    candidates = [row("1", key="k", key_limit=2, running=1), row("2", key="k", key_limit=2,
                  running=1), row("3", queue="b"), row("4", queue="b"), row("5")]
    picked = limits.pick(candidates, {"a": 5, "b": 1}, limit=10)
    assert [r["id"] for r in picked] == ["1", "3", "5"]
    assert limits.free_slots({"paused": True, "concurrency": None, "running": 0}, 4) == 0
    assert limits.free_slots({"paused": False, "concurrency": 3, "running": 2}, 4) == 1
    assert limits.free_slots(None, 4) == 4
