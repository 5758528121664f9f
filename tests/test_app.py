"""The Python API: registry, enqueue validation, reading, cancel errors."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

import corral
from corral.app import COLLECTOR_PAUSED_FROM
from corral.status import JobStatus


def test_task_registers_under_module_qualified_name_by_default(app: corral.Corral) -> None:
    @app.task
    def hello(name: str) -> str:
        return f"hi {name}"

    assert hello.name.startswith("tests.test_app.") and app.get_task(hello.name) is hello
    assert hello("you") == "hi you"  # calling the task runs the function, no job


def test_registering_the_same_name_twice_is_an_error(app: corral.Corral) -> None:
    app.task(name="twice")(lambda: None)
    with pytest.raises(corral.ConfigError):
        app.task(name="twice")(lambda: None)


@pytest.mark.parametrize("options", [
    {"max_attempts": 0}, {"isolation": "fork"}, {"queue": ""}, {"timeout": "3x"},
    {"phases": ["a", "a"]},
])
def test_invalid_task_options_are_refused(app: corral.Corral, options: dict) -> None:
    with pytest.raises(corral.ConfigError):
        app.task(name="bad", **options)(lambda: None)


def test_unknown_task_name_is_a_typed_error(app: corral.Corral) -> None:
    with pytest.raises(corral.UnknownTask):
        app.get_task("nope")


def test_arguments_must_be_json_and_nothing_is_stored_otherwise(
    app: corral.Corral, tasks: SimpleNamespace,
) -> None:
    with pytest.raises(corral.InvalidArguments):
        tasks.noop.enqueue(object())
    with pytest.raises(corral.InvalidArguments):
        app.enqueue_many([tasks.noop.s(1), tasks.noop.s(float("nan"))])
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(corral.InvalidArguments, match="nested deeper"):
        tasks.noop.enqueue(cycle)
    assert app.list_jobs() == []


def test_a_bulk_enqueue_holds_the_collector_off_and_leaves_it_as_it_was(
        app: corral.Corral) -> None:
    """A big ``enqueue_many`` makes its jobs with the cyclic garbage collector off (they
    all live until it returns), and turns it back on however the call ends; one the
    caller turned off stays off, and a small enqueue leaves it alone."""
    enabled: list[bool] = []

    @app.task(name="keyed", limit_key=lambda n: enabled.append(gc.isenabled()) or "key")
    def keyed(n: float) -> None: ...

    signatures = [keyed.s(i) for i in range(COLLECTOR_PAUSED_FROM)]
    app.enqueue_many(signatures)
    assert enabled == [False] * COLLECTOR_PAUSED_FROM and gc.isenabled()
    with pytest.raises(corral.InvalidArguments):
        app.enqueue_many([*signatures, keyed.s(float("nan"))])
    assert gc.isenabled()
    gc.disable()
    try:
        app.enqueue_many(signatures)
        assert not gc.isenabled()
    finally:
        gc.enable()
    enabled.clear()
    app.enqueue_many(signatures[:3])
    assert enabled == [True] * 3 and len(app.list_jobs(limit=None)) == 2 * len(signatures) + 3


def test_enqueue_returns_a_handle_on_a_queued_job(app: corral.Corral,
                                                  tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue({"k": [1, 2]})
    assert handle.status == JobStatus.QUEUED
    job = app.get_job(handle.id)
    assert job.task == "noop" and job.args == [{"k": [1, 2]}] and job.queue == "default"
    assert job.created_at.tzinfo is not None
    assert [e.kind for e in handle.events()] == ["enqueued"]


def test_signature_options_set_queue_priority_delay_and_meta(
    app: corral.Corral, tasks: SimpleNamespace,
) -> None:
    handle = tasks.noop.s(1).set(queue="urgent", priority=9, delay="1h",
                                 meta={"team": "data"}).enqueue()
    job = handle.job
    assert (job.queue, job.priority, job.status, job.meta) == (
        "urgent", 9, JobStatus.SCHEDULED, {"team": "data"})
    assert job.run_at > datetime.now(UTC) + timedelta(minutes=59)
    with pytest.raises(corral.ConfigError):
        tasks.noop.s().set(run_at=datetime(2030, 1, 1))  # naive datetimes are refused


def test_list_jobs_filters_by_status_queue_and_task(app: corral.Corral,
                                                    tasks: SimpleNamespace) -> None:
    a = tasks.noop.s().set(queue="a").enqueue()
    b = tasks.quick.enqueue()
    b.cancel()
    assert [j.id for j in app.list_jobs(status="cancelled")] == [b.id]
    assert [j.id for j in app.list_jobs(queue="a")] == [a.id]
    assert [j.id for j in app.list_jobs(task="quick")] == [b.id]
    with pytest.raises(corral.ConfigError):
        app.list_jobs(status="bogus")


def test_list_jobs_by_ids_returns_those_jobs_only_and_every_one_without_limit(
    app: corral.Corral, tasks: SimpleNamespace
) -> None:
    made = [tasks.noop.enqueue(i) for i in range(3)]
    wanted = [made[0].id, made[2].id]
    assert [j.id for j in app.list_jobs(ids=wanted)] == [made[2].id, made[0].id]  # newest first
    assert [j.id for j in app.list_jobs(ids=wanted, status="cancelled")] == []
    assert [j.id for j in app.list_jobs(ids=[h.id for h in made], limit=None)] == [
        h.id for h in reversed(made)]
    assert app.list_jobs(ids=["missing"]) == []


def test_get_and_cancel_of_unknown_ids_raise_not_found(app: corral.Corral) -> None:
    with pytest.raises(corral.JobNotFound):
        app.get_job("missing")
    with pytest.raises(corral.JobNotFound):
        app.cancel("missing")


def test_cancel_records_who_and_why(app: corral.Corral, tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    job = app.cancel(handle.id, reason="duplicate", actor="ops:alice")
    assert (job.status, job.cancelled_by, job.cancel_reason) == (
        JobStatus.CANCELLED, "ops:alice", "duplicate")
    with pytest.raises(corral.JobAlreadyFinished) as caught:
        app.cancel(handle.id)
    assert caught.value.status == "cancelled"


def test_wait_times_out_with_a_typed_error(tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    with pytest.raises(corral.JobWaitTimeout) as caught:
        handle.wait(timeout=0.05)
    assert caught.value.status == "queued"
    assert isinstance(caught.value, TimeoutError)


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(corral.StoreError):
        corral.Corral("sqlite:///:memory:").store  # noqa: B018


def test_an_unsupported_url_is_refused() -> None:
    with pytest.raises(corral.StoreError):
        corral.Corral("mysql://x").store  # noqa: B018


def test_public_surface_is_pinned() -> None:
    assert sorted(corral.__all__) == sorted([
        "Cancelled", "ConfigError", "Context", "Corral", "CorralError", "InvalidArguments",
        "Job", "JobAlreadyFinished", "JobError", "JobEvent", "JobHandle", "JobNotFound",
        "JobNotRestartable", "JobStatus", "JobWaitTimeout", "Progress", "Signature",
        "StoreError", "Task", "UnknownTask", "__version__", "Batch", "BatchHandle",
        "BatchNotFound", "BulkResult", "JobActive", "Worker",
    ])
