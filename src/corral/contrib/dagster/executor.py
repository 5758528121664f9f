"""``corral_executor``: each step of a run as its own corral job (DESIGN §12, Dagster).

::

    from corral.contrib.dagster import corral_executor

    @job(executor_def=corral_executor)
    def nightly(): ...

    # run config, optional:
    # execution: {config: {queue: dagster-steps, cancel_grace: 60, max_concurrent: 8}}

Dagster's step-delegating executor runs in the run's process and hands each step to
``CorralStepHandler``: a ``dagster.step`` job on ``queue`` (meta ``dagster_run_id``,
``dagster_step``), so every step shows on the dashboard and the CLI with its step as phase.
A run's steps are one corral batch (its id in the run's tag ``corral/batch_id``), added to
as Dagster launches them. Terminating the run cancels every step job of the run at once
(``CorralRunLauncher`` does it with one bulk cancel, and the executor asks again for each
step it knows); a
step's job that failed or was cancelled makes the step unhealthy within a second. Step
concurrency across runs follows corral's queue and key limits: a step's op tags
``corral/limit_key`` and ``corral/key_limit`` become its job's ``limit_key`` and
``key_limit`` (``corral queues set dagster-steps --limit 4`` caps the queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagster import Field, Int, Noneable, StringSource, executor
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.events import DagsterEvent
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.executor.base import Executor
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating import (
    CheckStepHealthResult,
    StepDelegatingExecutor,
    StepHandler,
    StepHandlerContext,
)
from dagster._serdes import serialize_value

from corral import errors
from corral.app import Corral
from corral.contrib.dagster import runs
from corral.job import Job
from corral.status import JobStatus

RUN_META = "dagster_run_id"
STEP_META = "dagster_step"
LIMIT_KEY_TAG = "corral/limit_key"
KEY_LIMIT_TAG = "corral/key_limit"
ACTOR = "dagster"
BATCH_TAG = "corral/batch_id"


class CorralStepHandler(StepHandler):
    """Launches, checks and terminates steps as ``dagster.step`` corral jobs."""

    def __init__(self, database_url: str | None, queue: str, cancel_grace: float) -> None:
        super().__init__()
        self.app = Corral(database_url)
        _, self.task = runs.register(self.app)
        self.queue = queue
        self.cancel_grace = cancel_grace
        self._batches: dict[str, str] = {}  # run id -> its steps' batch (one run per process)

    @property
    def name(self) -> str:
        return "CorralStepHandler"

    def launch_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        args = step_handler_context.execute_step_args
        step_key = _only_step(step_handler_context)
        run_id = args.run_id
        tags = step_handler_context.step_tags.get(step_key, {})
        key_limit = tags.get(KEY_LIMIT_TAG)
        signature = self.task.s(
            run_id, step_key, serialize_value(args), cancel_grace=self.cancel_grace).set(
            queue=self.queue, meta={RUN_META: run_id, STEP_META: step_key},
            limit_key=tags.get(LIMIT_KEY_TAG),
            key_limit=int(key_limit) if key_limit else None)
        batch_id = self._batch_of(step_handler_context)
        [job] = self.app.write_jobs([signature.to_new_job(batch_id=batch_id)], actor=ACTOR)
        yield DagsterEvent.step_worker_starting(
            step_handler_context.get_step_context(step_key),
            message=f"Enqueued as corral job {job.id} (batch {batch_id}) on queue "
                    f"{self.queue}.", metadata={"corral_job_id": job.id})

    def check_step_health(self, step_handler_context: StepHandlerContext
                          ) -> CheckStepHealthResult:
        job = self._job_of(step_handler_context)
        if job is None:
            return CheckStepHealthResult.unhealthy("its corral job is gone")
        if job.status == JobStatus.FAILED:
            error = job.error
            return CheckStepHealthResult.unhealthy(
                f"corral job {job.id} failed" + (f": {error.type}: {error.message}"
                                                   if error is not None else ""))
        if job.status == JobStatus.CANCELLED:
            return CheckStepHealthResult.unhealthy(
                f"corral job {job.id} was cancelled by {job.cancelled_by or 'someone'}")
        return CheckStepHealthResult.healthy()

    def terminate_step(self, step_handler_context: StepHandlerContext
                       ) -> Iterator[DagsterEvent]:
        job = self._job_of(step_handler_context)
        if job is not None and not job.is_terminal:
            self.app.cancel(job.id, reason="the run was terminated", actor=ACTOR)
        step_key = _only_step(step_handler_context)
        yield DagsterEvent.engine_event(
            step_handler_context.get_step_context(step_key),
            message=f"Cancelled corral job {job.id if job else '(none)'} of step {step_key}.")

    def _batch_of(self, step_handler_context: StepHandlerContext) -> str:
        """The run's batch, made when its first step is launched (a corral batch of no
        jobs yet, its steps added as Dagster launches them) and named in the run's tag
        ``corral/batch_id``: the dashboard's batch view shows the run's steps."""
        run_id = step_handler_context.execute_step_args.run_id
        if run_id not in self._batches:
            run = step_handler_context.dagster_run
            batch = self.app.batch([], name=f"dagster run {run_id} ({run.job_name})",
                                   actor=ACTOR)
            step_handler_context.instance.add_run_tags(run_id, {BATCH_TAG: batch.id})
            self._batches[run_id] = batch.id
        return self._batches[run_id]

    def _job_of(self, step_handler_context: StepHandlerContext) -> Job | None:
        """The step's latest job (a retried step has one job per attempt)."""
        found = self.app.list_jobs(task=runs.STEP_TASK, limit=1, meta={
            RUN_META: step_handler_context.execute_step_args.run_id,
            STEP_META: _only_step(step_handler_context)})
        return found[0] if found else None


def _only_step(step_handler_context: StepHandlerContext) -> str:
    keys = step_handler_context.execute_step_args.step_keys_to_execute or []
    if len(keys) != 1:
        raise errors.ConfigError(f"corral_executor launches one step at a time, got {keys}")
    return keys[0]


@executor(
    name="corral",
    config_schema={
        "database_url": Field(Noneable(StringSource), is_required=False,
                              description="corral's store (default CORRAL_DATABASE_URL)"),
        "queue": Field(StringSource, is_required=False, default_value=runs.DEFAULT_QUEUE),
        "cancel_grace": Field(Int, is_required=False,
                              default_value=int(runs.DEFAULT_CANCEL_GRACE)),
        "max_concurrent": Field(Noneable(Int), is_required=False, default_value=None),
        "retries": get_retries_config(),  # type: ignore[no-untyped-call]
    },
    requirements=multiple_process_executor_requirements(),
)
def corral_executor(init_context: InitExecutorContext) -> Executor:
    """Every step of the run as a corral job on ``queue``."""
    config: dict[str, Any] = dict(init_context.executor_config)
    handler = CorralStepHandler(config.get("database_url"), config["queue"],
                                float(config["cancel_grace"]))
    return StepDelegatingExecutor(
        handler, retries=RetryMode.from_config(config["retries"]) or RetryMode.DISABLED,
        max_concurrent=config.get("max_concurrent"), check_step_health_interval_seconds=1)
