"""``CorralRunLauncher``: Dagster runs as corral jobs (DESIGN §12, Dagster).

::

    # dagster.yaml
    run_launcher:
      module: corral.contrib.dagster
      class: CorralRunLauncher
      config: {database_url: {env: CORRAL_DATABASE_URL}, queue: dagster, cancel_grace: 60}

``launch_run`` enqueues one ``dagster.run`` job (its id in the run's tag
``corral/job_id``, the run's id in the job's meta ``dagster_run_id``); workers run it with
``corral worker --app corral.contrib.dagster:app --queues dagster``. ``terminate`` cancels
the job: the run process gets SIGTERM at once and SIGKILL after ``cancel_grace``. The
health check maps the job's status, so Dagster's run monitoring sees a dead worker within
seconds (corral fails its jobs with ``WorkerLost``). Runs are not resumed after a lost
worker (``supports_resume_run`` is False): a run's steps may have half-written their
outputs, and re-running them is a decision for Dagster's retries (``dagster/max_retries``),
which start a new run, not for a queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Field, IntSource, Noneable, StringSource
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value

from corral import errors
from corral.app import Corral
from corral.contrib.dagster import runs
from corral.status import ACTIVE, JobStatus

JOB_TAG = "corral/job_id"
RUN_META = "dagster_run_id"
ACTOR = "dagster"
REASON = "terminated from Dagster"


class CorralRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each Dagster run as a corral job on the ``queue`` corral workers serve."""

    def __init__(self, database_url: str | None = None, queue: str = "dagster",
                 cancel_grace: float = runs.DEFAULT_CANCEL_GRACE,
                 inst_data: ConfigurableClassData | None = None, **settings: Any) -> None:
        self._inst_data = inst_data
        self.queue = queue
        self.cancel_grace = float(cancel_grace)
        self.app = Corral(database_url, **settings)
        self.task, _ = runs.register(self.app)
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "database_url": Field(Noneable(StringSource), is_required=False,
                                  description="corral's store (default CORRAL_DATABASE_URL)"),
            "queue": Field(StringSource, is_required=False, default_value="dagster"),
            "cancel_grace": Field(IntSource, is_required=False,
                                  default_value=int(runs.DEFAULT_CANCEL_GRACE),
                                  description="seconds from SIGTERM to SIGKILL"),
            "lease": Field(IntSource, is_required=False),
            "heartbeat_interval": Field(IntSource, is_required=False),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData,
                          config_value: Mapping[str, Any]) -> CorralRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    # -- launching and stopping ----------------------------------------------------------

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise errors.ConfigError(f"Dagster run {run.run_id} has no code origin")
        execute_args = serialize_value(ExecuteRunArgs(
            job_origin=origin, run_id=run.run_id, instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True))
        handle = self.app.enqueue(self.task.s(
            run.run_id, execute_args, cancel_grace=self.cancel_grace).set(
            queue=self.queue, meta={RUN_META: run.run_id, "dagster_job": run.job_name},
            unique_key=f"dagster-run:{run.run_id}"), actor=ACTOR)
        self._instance.add_run_tags(run.run_id, {JOB_TAG: handle.id})
        self._instance.report_engine_event(
            f"Enqueued as corral job {handle.id} on queue {self.queue}.", run, cls=type(self))

    def terminate(self, run_id: str) -> bool:
        """Cancel the run's job; False when the run or its job had already finished."""
        run = self._instance.get_run_by_id(run_id)
        job_id = run.tags.get(JOB_TAG) if run is not None else None
        if run is None or run.is_finished or job_id is None:
            return False
        try:
            job = self.app.get_job(job_id)
        except errors.JobNotFound:
            return False
        if job.is_terminal:
            return False
        self._instance.report_run_canceling(run)
        cancelled = self.app.cancel(job_id, reason=REASON, actor=ACTOR)
        # its steps' jobs too (corral_executor), all at once
        self.app.cancel_many(task=runs.STEP_TASK, status=list(ACTIVE),
                             meta={RUN_META: run_id}, reason=REASON, actor=ACTOR)
        if cancelled.status == JobStatus.CANCELLED and cancelled.started_at is None:
            self._instance.report_run_canceled(run, "Canceled before a worker started it.")
        return True

    # -- run monitoring --------------------------------------------------------------------

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        job_id = run.tags.get(JOB_TAG)
        if job_id is None:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "no corral job tag")
        try:
            job = self.app.get_job(job_id)
        except errors.JobNotFound:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND,
                                        f"corral job {job_id} not found")
        return health_of(job, job_id)

    def dispose(self) -> None:
        self.app.close()


def health_of(job: Any, job_id: str) -> CheckRunHealthResult:
    """A corral job's status as Dagster's run monitoring reads a run worker's."""
    if job.status == JobStatus.COMPLETED:
        return CheckRunHealthResult(WorkerStatus.SUCCESS, run_worker_id=job.worker_id)
    if job.status == JobStatus.FAILED:
        error = job.error
        what = "worker lost" if error is not None and error.type == "WorkerLost" else "failed"
        detail = f": {error.type}: {error.message}" if error is not None else ""
        return CheckRunHealthResult(WorkerStatus.FAILED, f"corral job {job_id} {what}{detail}",
                                    run_worker_id=job.worker_id)
    if job.status == JobStatus.CANCELLED:
        return CheckRunHealthResult(WorkerStatus.FAILED, f"corral job {job_id} was cancelled "
                                    f"by {job.cancelled_by or 'someone'}",
                                    run_worker_id=job.worker_id)
    return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=job.worker_id)
