"""``corral.testing.run``: one job now, in this process; ``cancel_at`` to test cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import corral
from corral.status import JobStatus
from corral.testing import run

S = JobStatus


@pytest.fixture
def app(tmp_path: Path) -> Iterator[corral.Corral]:
    """SQLite only: ``run`` is the same code path on every store (``drain`` is tested on
    both)."""
    client = corral.Corral(f"sqlite:///{tmp_path / 'corral.db'}")
    yield client
    client.close()


def test_run_returns_the_completed_job_with_its_result(app: corral.Corral) -> None:
    @app.task(name="add")
    def add(a: int, b: int, *, times: int = 1) -> int:
        return (a + b) * times

    job = run(add, 2, 3, times=2)
    assert job.status == S.COMPLETED and job.result == 10 and job.attempt == 1


def test_run_returns_a_failed_job_after_its_retries_without_backoff(
    app: corral.Corral, tmp_path: Path,
) -> None:
    attempts = tmp_path / "attempts"

    @app.task(name="flaky", max_attempts=2)
    def flaky() -> str:
        with attempts.open("a") as written:
            written.write("x")
        if attempts.read_text() == "x":
            raise RuntimeError("first attempt fails")
        return "second works"

    job = run(flaky)
    assert job.status == S.COMPLETED and job.result == "second works"
    assert attempts.read_text() == "xx" and job.attempt == 2


def test_cancel_at_stops_the_task_there_runs_its_finally_and_keeps_the_saved_result(
    app: corral.Corral, tmp_path: Path,
) -> None:
    marker = tmp_path / "finally"
    reached = tmp_path / "reached"

    @app.task(name="five_steps")
    def five_steps(ctx: corral.Context) -> str:
        try:
            for step in range(1, 6):
                ctx.save({"done": step - 1})
                with reached.open("a") as written:
                    written.write(str(step))
                ctx.progress(step, 5)  # checkpoint number ``step``
            return "all five"
        finally:
            marker.write_text("cleaned up")

    job = run(five_steps, cancel_at=2)
    assert job.status == S.CANCELLED
    assert reached.read_text() == "12", "stopped at the second checkpoint"
    assert marker.read_text() == "cleaned up"
    assert job.result == {"done": 1}
    assert job.cancel_reason == "cancel_at=2" and job.cancelled_by == "corral.testing"


def test_cancel_at_counts_entering_and_leaving_phases_and_plain_checkpoints(
    app: corral.Corral, tmp_path: Path,
) -> None:
    reached = tmp_path / "reached"

    @app.task(name="phased", phases=["fetch", "store"])
    def phased(ctx: corral.Context) -> None:
        with ctx.phase("fetch"):  # 1 entering
            reached.write_text("in fetch")
            ctx.checkpoint()  # 2
        # 3 leaving fetch
        reached.write_text("between")
        with ctx.phase("store"):  # 4 entering
            reached.write_text("in store")
        # 5 leaving store: the last one

    job = run(phased, cancel_at=3)
    assert job.status == S.CANCELLED and job.phase == "fetch"
    assert reached.read_text() == "in fetch"
    assert run(phased, cancel_at=4).status == S.CANCELLED
    assert reached.read_text() == "between", "stopped on entering the store phase"
    assert run(phased, cancel_at=5).status == S.CANCELLED
    assert reached.read_text() == "in store", "stopped on leaving it"
    assert run(phased, cancel_at=6).status == S.COMPLETED


def test_cancel_at_past_the_last_checkpoint_lets_the_job_complete(
    app: corral.Corral,
) -> None:
    @app.task(name="two_steps")
    def two_steps(ctx: corral.Context) -> str:
        ctx.progress(1, 2)
        ctx.progress(2, 2)
        return "done"

    assert run(two_steps, cancel_at=3).status == S.COMPLETED


def test_cancel_at_stops_an_async_task_and_runs_its_finally(
    app: corral.Corral, tmp_path: Path,
) -> None:
    marker = tmp_path / "finally"

    @app.task(name="async_steps")
    async def async_steps(ctx: corral.Context) -> str:
        try:
            for step in range(1, 6):
                ctx.progress(step, 5)
                await asyncio.sleep(0)
            return "all five"
        finally:
            marker.touch()

    job = run(async_steps, cancel_at=1)
    assert job.status == S.CANCELLED and job.progress.current == 1
    assert marker.exists()


def test_run_leaves_other_waiting_jobs_alone(app: corral.Corral) -> None:
    @app.task(name="echo")
    def echo(text: str) -> str:
        return text

    waiting = echo.enqueue("waiting")
    assert run(echo, "now").result == "now"
    assert waiting.refresh().status == S.QUEUED


def test_cancel_at_must_be_a_checkpoint_number(app: corral.Corral) -> None:
    @app.task(name="noop")
    def noop() -> None:
        return None

    with pytest.raises(corral.ConfigError):
        run(noop, cancel_at=0)
