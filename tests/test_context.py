"""What a running task sees, in isolation from any worker."""

from __future__ import annotations

from typing import Any

import pytest

import corral
from corral.context import Context
from corral.job import Job
from corral.status import JobStatus


class Notes:
    """Collects what a Context reports (the worker's recorder does this for real)."""

    def __init__(self) -> None:
        self.progress: list[tuple[str | None, float]] = []
        self.phases: list[str] = []
        self.saved: list[Any] = []
        self.logs: list[str] = []

    def progress_changed(self, ctx: Context) -> None:
        self.progress.append((ctx.current_phase, ctx.current_progress.current))

    def phase_entered(self, ctx: Context, phase: str) -> None:
        self.phases.append(phase)

    def save(self, ctx: Context, value: Any) -> None:
        self.saved.append(value)

    def log(self, ctx: Context, message: str, data: dict[str, Any]) -> None:
        self.logs.append(message)


def make(phases: tuple[str, ...] = ()) -> tuple[Context, Notes]:
    notes = Notes()
    job = Job(id="j1", task="t", status=JobStatus.RUNNING, attempt=1, worker_id="w")
    return Context(job, notes, phases=phases), notes


def test_checkpoint_raises_only_once_a_cancel_is_pending() -> None:
    ctx, _ = make()
    ctx.checkpoint()
    assert not ctx.cancelled
    ctx._request_cancel("stop")
    assert ctx.cancelled
    with pytest.raises(corral.Cancelled) as caught:
        ctx.checkpoint()
    assert caught.value.reason == "stop"


def test_cancelled_is_not_swallowed_by_except_exception() -> None:
    ctx, _ = make()
    ctx._request_cancel(None)
    with pytest.raises(corral.Cancelled):
        try:
            ctx.progress(1, 2)
        except Exception:  # a task's broad handler must not eat the cancel
            pytest.fail("Cancelled was caught as an Exception")


def test_shield_defers_the_cancel_to_its_exit() -> None:
    ctx, _ = make()
    reached = []
    with pytest.raises(corral.Cancelled), ctx.shield():
        ctx._request_cancel(None)
        ctx.checkpoint()
        ctx.progress(1, 1)
        reached.append("end of shield")
    assert reached == ["end of shield"]


def test_phases_nest_and_the_last_phase_stays_shown() -> None:
    ctx, notes = make()
    with ctx.phase("outer"):
        with ctx.phase("inner"):
            assert ctx.current_phase == "inner"
        assert ctx.current_phase == "outer"
    assert ctx.current_phase == "outer"
    with ctx.phase("next"):
        pass
    assert ctx.current_phase == "next"
    assert notes.phases == ["outer", "inner", "next"]


def test_a_cancel_on_leaving_a_phase_reports_that_phase() -> None:
    ctx, _ = make()
    with pytest.raises(corral.Cancelled), ctx.phase("digest"):
        ctx._request_cancel(None)
        with ctx.shield():
            pass  # the shield's exit is the checkpoint that raises
    assert ctx.current_phase == "digest"


def test_undeclared_phase_is_refused_when_the_task_declares_phases() -> None:
    ctx, _ = make(phases=("ingest",))
    with pytest.raises(corral.ConfigError), ctx.phase("digest"):
        pass


def test_progress_save_and_log_reach_the_reporter() -> None:
    ctx, notes = make()
    ctx.progress(3, 10, "three")
    ctx.save({"partial": 3})
    ctx.log("hello", n=1)
    assert notes.progress == [(None, 3.0)] and notes.saved == [{"partial": 3}]
    assert notes.logs == ["hello"]
    assert ctx.current_progress.ratio == pytest.approx(0.3)
    with pytest.raises(corral.InvalidArguments):
        ctx.save(object())
