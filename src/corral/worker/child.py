"""The child side of ``isolation="process"``: run one job in a fresh process.

The child gets the task's module and name and the job's fields, runs it with the same
executor as a thread would, and talks to its supervisor over a pipe in JSON messages:
progress, phases, saves and logs go up; cancels and save acknowledgements come down. If
the supervisor's end of the pipe closes (the worker died), the child exits at once.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import queue
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from corral import errors
from corral.app import Corral
from corral.context import Context
from corral.job import JSON, Job
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.task import Task
from corral.worker import executor

PROGRESS_EVERY = 0.05  # seconds between progress messages (phase changes go at once)


def find_task(module_name: str, task_name: str, setup: tuple[str, ...] = ()) -> Task:
    """The registered task: the module of its function holds the app that registered it.
    ``setup``: modules to import first (the app's ``child_setup``: Django's set-up)."""
    for module_first in setup:
        importlib.import_module(module_first)
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, Corral) and task_name in value.tasks:
            return value.tasks[task_name]
    raise errors.UnknownTask(task_name)


class PipeReporter:
    """Implements ``corral.context.Reporter`` by messages to the supervisor."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()  # task thread and reader thread both send
        self._saved: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._last_progress = 0.0

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self._conn.send_bytes(json.dumps(message).encode())

    def progress_changed(self, ctx: Context, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            progress = ctx.current_progress
            self.send({"t": "progress", "phase": ctx.current_phase, "current": progress.current,
                       "total": progress.total, "message": progress.message})

    def phase_entered(self, ctx: Context, phase: str) -> None:
        self.send({"t": "phase", "name": phase})
        self._last_progress = 0.0  # the phase itself goes out with the next progress

    def save(self, ctx: Context, value: JSON) -> None:
        self.send({"t": "save", "value": value})
        if not self._saved.get(timeout=60):
            raise errors.Cancelled("this worker no longer holds the job")

    def log(self, ctx: Context, message: str, data: dict[str, JSON]) -> None:
        self.send({"t": "log", "message": message, "data": data})

    def acknowledge_save(self, ok: bool) -> None:
        self._saved.put(ok)


def _read_supervisor(conn: Connection, ctx: Context, reporter: PipeReporter) -> None:
    while True:
        try:
            message = json.loads(conn.recv_bytes())
        except (EOFError, OSError):
            os._exit(1)  # the worker is gone: nobody would record what we do
        if message["t"] == "cancel":
            ctx._request_cancel(message.get("reason"))
        elif message["t"] == "saved":
            reporter.acknowledge_save(bool(message["ok"]))


def main(conn: Connection, module_name: str, task_name: str, job_fields: dict[str, Any],
         worker_id: str, setup: tuple[str, ...] = ()) -> None:
    """Entry point of the child process (``multiprocessing`` spawn target)."""
    job = Job(status=JobStatus.RUNNING, **job_fields)
    reporter = PipeReporter(conn)
    task: Task | None
    try:
        task = find_task(module_name, task_name, setup)
    except (ImportError, errors.UnknownTask):
        task = None
    loop = asyncio.new_event_loop() if task is not None and task.is_async else None
    ctx = Context(job, reporter, phases=task.options.phases if task else (), loop=loop)
    execution = executor.Execution(job, task, ctx, worker_id)
    threading.Thread(target=_read_supervisor, args=(conn, ctx, reporter), daemon=True).start()
    if loop is not None:
        outcome = loop.run_until_complete(executor.call_async(execution))
    else:
        outcome = executor.call_sync(execution)
    reporter.progress_changed(ctx, force=True)
    reporter.send({"t": "done", "outcome": encode_outcome(outcome)})
    conn.close()


def encode_outcome(outcome: Outcome) -> dict[str, Any]:
    error = outcome.error
    return {
        "kind": outcome.kind.value, "result": outcome.result, "has_result": outcome.has_result,
        "error": None if error is None else {"type": error.type, "message": error.message,
                                             "traceback": error.traceback},
        "retry_at": outcome.retry_at.isoformat() if outcome.retry_at else None,
        "phase": outcome.phase, "reason": outcome.reason, "ended_at": outcome.ended_at,
    }
