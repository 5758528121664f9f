"""``isolation="process"``: each job in a child process the worker can kill.

A supervisor thread per job starts the child (``spawn``: no inherited locks or threads),
relays what the child reports to the recorder, and forwards a cancel. A child that has not
stopped ``cancel_grace`` (its task's, else the worker's) after its cancel gets SIGTERM,
and SIGKILL a second later: this is the only way to stop code that never reaches a
checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from corral import ids
from corral.job import JobError, Progress
from corral.outcome import Outcome, OutcomeKind
from corral.store import Store
from corral.worker import child, executor
from corral.worker.executor import Execution
from corral.worker.isolation import Done
from corral.worker.recorder import Recorder

logger = logging.getLogger("corral.worker")
KILL_AFTER_TERM = 1.0
POLL = 0.02


class ProcessRunner:
    def __init__(self, size: int, store: Store, recorder: Recorder, cancel_grace: float) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="corral-proc")
        self._spawn = multiprocessing.get_context("spawn")
        self._store = store
        self._recorder = recorder
        self._cancel_grace = cancel_grace

    def submit(self, execution: Execution, done: Done) -> None:
        self._pool.submit(self._supervise, execution, done)

    def shutdown(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _supervise(self, execution: Execution, done: Done) -> None:
        try:
            outcome = self._run_child(execution)
        except Exception as exc:  # the supervisor itself failed: still one outcome
            logger.exception("supervising job %s failed", ids.short(execution.job_id))
            outcome = executor.outcome_of_error(execution, exc)
        done(outcome)

    def _run_child(self, execution: Execution) -> Outcome:
        assert execution.task is not None
        job = execution.job
        fields = {"id": job.id, "task": job.task, "args": job.args, "kwargs": job.kwargs,
                  "queue": job.queue, "attempt": job.attempt, "max_attempts": job.max_attempts,
                  "attempt_offset": job.attempt_offset, "worker_id": job.worker_id,
                  "timeout": job.timeout}
        ours, theirs = self._spawn.Pipe()
        process = self._spawn.Process(
            target=child.main, daemon=True, name=f"corral-job-{job.id}",
            args=(theirs, execution.task.fn.__module__, execution.task.name, fields,
                  execution.worker_id, execution.task.app.child_setup),
        )
        process.start()
        theirs.close()
        reported: dict[str, Any] | None = None
        cancel_sent = False
        terminated_at: float | None = None
        while reported is None:
            if ours.poll(POLL):
                try:
                    message = json.loads(ours.recv_bytes())
                except (EOFError, OSError):
                    break  # the child is gone without a word
                reported = self._relay(execution, ours, message)
            elif not process.is_alive():
                break
            ctx = execution.ctx
            if ctx.cancelled and not cancel_sent:
                self._send(ours, {"t": "cancel", "reason": ctx.cancel_reason})
                cancel_sent = True
            asked = ctx.cancel_requested_at
            grace = 0.0 if execution.fenced else execution.cancel_grace(self._cancel_grace)
            if asked is not None and time.monotonic() - asked > grace:
                if terminated_at is None:
                    logger.warning("job %s did not stop within %gs: terminating its process",
                                   ids.short(job.id), grace)
                    process.terminate()
                    terminated_at = time.monotonic()
                elif time.monotonic() - terminated_at > KILL_AFTER_TERM:
                    process.kill()
        process.join(timeout=5)
        ours.close()
        return self._outcome(execution, reported, process.exitcode)

    def _relay(self, execution: Execution, conn: Connection,
               message: dict[str, Any]) -> dict[str, Any] | None:
        """Pass one child message on; return the outcome fields once the child is done."""
        ctx = execution.ctx
        kind = message["t"]
        if kind == "progress":
            ctx._mirror(message["phase"], Progress(message["current"], message["total"],
                                                   message["message"]))
            self._recorder.progress_changed(ctx)
        elif kind == "phase":
            self._recorder.phase_entered(ctx, message["name"])
        elif kind == "save":
            ok = self._store.save_result(execution.job_id, execution.worker_id,
                                         execution.job.attempt, message["value"])
            self._send(conn, {"t": "saved", "ok": ok})
        elif kind == "log":
            self._recorder.log(ctx, message["message"], message["data"])
        elif kind == "done":
            return dict(message["outcome"])
        return None

    @staticmethod
    def _send(conn: Connection, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the child may be gone already
            conn.send_bytes(json.dumps(message).encode())

    @staticmethod
    def _outcome(execution: Execution, reported: dict[str, Any] | None,
                 exitcode: int | None) -> Outcome:
        if reported is None:
            if execution.ctx.cancelled:
                return executor.stopped_outcome(execution)
            error = JobError("ProcessDied", f"the task's process exited with code {exitcode}")
            return executor.failure_outcome(execution, error, retryable=True)
        kind = OutcomeKind(reported["kind"])
        if kind == OutcomeKind.CANCELLED:
            return executor.stopped_outcome(execution)
        error = reported["error"]
        job = execution.job
        return Outcome(
            job.id, execution.worker_id, job.attempt, kind, result=reported["result"],
            has_result=reported["has_result"], error=JobError(**error) if error else None,
            retry_at=datetime.fromisoformat(reported["retry_at"]) if reported["retry_at"]
            else None, phase=reported["phase"], reason=reported["reason"],
            ended_at=reported["ended_at"],
        )

