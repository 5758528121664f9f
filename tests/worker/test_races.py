"""Races with real processes: drain exactly once, cancel versus completion."""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import corral
from corral.status import TRANSITIONS, JobStatus
from tests.waiting import wait_until

S = JobStatus


def test_two_worker_processes_drain_2000_jobs_each_exactly_once(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    marks: Path,
) -> None:
    handles = app.enqueue_many([tasks.record.s(i) for i in range(2000)])
    start_worker(concurrency=8)
    start_worker(concurrency=8)
    wait_until(lambda: len(app.list_jobs(status="completed", limit=5000)) == 2000,
               timeout=120, interval=0.2, message="all 2000 jobs to complete")
    executions = Counter((marks / "executions.log").read_text().split())
    assert len(executions) == 2000 and set(executions.values()) == {1}
    assert set(executions) == {h.id for h in handles}
    workers = set()
    for handle in random.sample(handles, 50):
        events = handle.events()
        assert [e.kind for e in events] == ["enqueued", "claimed", "completed"]
        workers.add(events[1].actor)
    assert app.list_jobs(status=["queued", "running"]) == []


def test_cancel_racing_completion_ends_in_one_consistent_status(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
) -> None:
    rng = random.Random(7)
    handles = app.enqueue_many([
        tasks.spin.s(rng.uniform(0, 0.03)) if i % 2 else tasks.quick.s(rng.uniform(0, 8))
        for i in range(300)
    ])
    rng.shuffle(handles)
    start_worker(concurrency=8)

    def cancel_all(chunk: list[corral.JobHandle]) -> None:
        for handle in chunk:
            with contextlib.suppress(corral.JobAlreadyFinished):
                app.cancel(handle.id, reason="race")
            if rng.random() < 0.3:
                threading.Event().wait(0.002)

    cancellers = [threading.Thread(target=cancel_all, args=(handles[i::3],)) for i in range(3)]
    for thread in cancellers:
        thread.start()
    for thread in cancellers:
        thread.join()
    outcomes: Counter[str] = Counter()
    for handle in handles:
        job = handle.wait(timeout=30)
        events = handle.events()
        transitions = [e for e in events if e.to_status is not None]
        assert all((e.from_status, e.to_status) in TRANSITIONS for e in transitions)
        assert transitions[-1].to_status == job.status, "the trail ends in the job's status"
        ends = [e.kind for e in transitions if e.to_status.is_terminal]
        assert len(ends) == 1, f"exactly one terminal transition, got {ends}"
        kinds = [e.kind for e in events]
        if job.status == S.COMPLETED and "cancel_requested" in kinds:
            assert transitions[-1].data.get("cancel_too_late") is True
            outcomes["completed after a cancel request"] += 1
        else:
            outcomes[job.status] += 1
        assert job.status in (S.COMPLETED, S.CANCELLED)
    print(dict(outcomes))
    assert outcomes[S.CANCELLED] > 0 and outcomes[S.COMPLETED] > 0
