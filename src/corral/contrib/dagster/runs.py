"""The corral tasks that execute Dagster's work: ``dagster.run`` (a run) and
``dagster.step`` (one step of a run, for ``corral_executor``).

The run executes in a process of its own, with Dagster's own run-worker entry point
(``dagster api execute_run``, what every Dagster run launcher starts), supervised by this
task on a worker thread:

- a cancel of the job (``terminate()`` in Dagster, or any corral cancel) sends the run
  process SIGTERM at once: Dagster turns it into an interrupt, the ops' ``finally`` blocks
  run and the run ends CANCELED; a process still alive ``cancel_grace`` seconds later is
  killed (SIGKILL, with its step processes) and the run reported CANCELED here, since
  its process can no longer;
- the worker dying (even by ``kill -9``) takes the run process with it (``run_worker``:
  Linux's ``PR_SET_PDEATHSIG``), and corral fails the job with ``WorkerLost``, which the run
  launcher's health check reports to Dagster;
- the job's progress is the run's steps done out of its steps, and its phase the step
  that started last, read from the run's event log.

Why a supervised process and not ``isolation="process"``: SIGTERM must go at once (corral's
child process gets it only after ``cancel_grace``), and someone must report the run
CANCELED after a SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import corral
from corral.app import Corral
from corral.task import Task

RUN_TASK = "dagster.run"
STEP_TASK = "dagster.step"
POLL = 0.05  # seconds between looks at the run process (and a cancel)
PROGRESS_EVERY = 0.5  # seconds between reads of the run's event log
DEFAULT_CANCEL_GRACE = 30.0
DEFAULT_QUEUE = "dagster"


def register(app: Corral) -> tuple[Task, Task]:
    """``dagster.run`` and ``dagster.step`` on ``app`` (the worker's, the launcher's and
    the executor's apps all need them)."""
    return (app.task(name=RUN_TASK, queue=DEFAULT_QUEUE)(execute_run),
            app.task(name=STEP_TASK, queue=DEFAULT_QUEUE)(execute_step))


def execute_run(ctx: corral.Context, run_id: str, execute_args: str,
                cancel_grace: float = DEFAULT_CANCEL_GRACE) -> dict[str, Any]:
    """Run Dagster's run worker for ``run_id`` (``execute_args``: its serialized
    ``ExecuteRunArgs``) until it exits; returns the run's final status."""
    from dagster import DagsterInstance
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value

    args = deserialize_value(execute_args, ExecuteRunArgs)
    if args.instance_ref is None:
        raise DagsterWorkFailed(f"Dagster run {run_id}: its launch arguments name no instance")
    with DagsterInstance.from_ref(args.instance_ref) as instance:
        steps = StepProgress(instance, run_id)

        def killed(grace: float) -> None:
            run = instance.get_run_by_id(run_id)
            if run is not None and not run.is_finished:
                instance.report_run_canceled(
                    run, message=f"The run process did not stop within {grace:g}s of "
                                 "SIGTERM: killed (SIGKILL) by corral.")

        code = supervise(ctx, ["execute_run", execute_args], cancel_grace,
                         report=steps.report, on_killed=killed)
        steps.report(ctx, force=True)
        run = instance.get_run_by_id(run_id)
        status = run.status.value if run else "UNKNOWN"
    if status == "CANCELED":
        raise corral.Cancelled("the Dagster run was canceled")
    if status != "SUCCESS":
        raise DagsterWorkFailed(f"Dagster run {run_id} ended {status} (exit code {code})")
    return {"run_id": run_id, "status": status}


def execute_step(ctx: corral.Context, run_id: str, step_key: str, execute_args: str,
                 cancel_grace: float = DEFAULT_CANCEL_GRACE) -> dict[str, Any]:
    """Run one step of a run (``corral_executor``) with Dagster's step worker; the step's
    outcome is in the run's event log, where the run's executor reads it."""
    from dagster._grpc.types import ExecuteStepArgs
    from dagster._serdes import deserialize_value

    args = deserialize_value(execute_args, ExecuteStepArgs)
    command = list(args.get_command_args())
    with ctx.shield(), ctx.phase(step_key):  # the job shows which step it is
        pass
    code = supervise(ctx, command[command.index("api") + 1:], cancel_grace)
    if code != 0:
        raise DagsterWorkFailed(f"step {step_key} of run {run_id} exited with code {code}")
    return {"run_id": run_id, "step": step_key}


class DagsterWorkFailed(Exception):
    """The run or step ended otherwise than well (the run's event log says why)."""


def supervise(ctx: corral.Context, api_args: list[str], grace: float, *,
              report: Callable[[corral.Context], None] | None = None,
              on_killed: Callable[[float], None] | None = None) -> int:
    """Run ``dagster api <api_args>`` bound to this worker (``run_worker``) until it exits;
    its exit code. A cancel sends it SIGTERM, and SIGKILL to its process group
    (``on_killed`` is told) if it still runs ``grace`` seconds later; then the
    ``Cancelled`` goes on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "corral.contrib.dagster.run_worker", str(os.getpid()),
         *api_args], start_new_session=True)
    try:
        while process.poll() is None:
            if report is not None:
                report(ctx)
            ctx.checkpoint()
            time.sleep(POLL)
    except corral.Cancelled:
        process.send_signal(signal.SIGTERM)  # a run worker interrupts its steps itself
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            if on_killed is not None:
                on_killed(grace)
        raise
    finally:
        if process.poll() is None:  # any other way out of this task: no orphan process
            _kill_group(process)
    return process.returncode


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the run worker and its step processes (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class StepProgress:
    """The run's steps done (succeeded, failed or skipped) out of its steps, and the step
    started last, from its event log."""

    def __init__(self, instance: Any, run_id: str) -> None:
        self._instance = instance
        self._run_id = run_id
        self._last = 0.0
        self._total: int | None = None

    def report(self, ctx: corral.Context, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        from dagster import DagsterEventType

        done_types = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
                      DagsterEventType.STEP_SKIPPED}
        records = self._instance.all_logs(
            self._run_id, of_type={*done_types, DagsterEventType.STEP_START})
        done = sum(1 for record in records if record.dagster_event_type in done_types)
        started = [record.step_key for record in records
                   if record.dagster_event_type == DagsterEventType.STEP_START]
        total = self._steps()
        with ctx.shield():  # reporting never interrupts: the cancel goes to the process
            if started and started[-1] and started[-1] != ctx.current_phase:
                with ctx.phase(started[-1]):
                    pass
            if total:
                ctx.progress(done, total, f"{done} of {total} steps done")

    def _steps(self) -> int | None:
        if self._total is None:
            run = self._instance.get_run_by_id(self._run_id)
            if run is not None and run.execution_plan_snapshot_id:
                plan = self._instance.get_execution_plan_snapshot(
                    run.execution_plan_snapshot_id)
                self._total = len(plan.step_keys_to_execute or plan.steps)
        return self._total
