"""What a running task sees: progress, phases, checkpoints, shields, partial results.

A ``Context`` is made by the worker for one execution. Its writes go through a
``Reporter`` (the worker's recorder), which batches progress into one statement per flush,
so a task may call ``progress()`` in a tight loop at no cost to the store.

Threads: the task's own thread (or the event loop, for async tasks) calls every public
method; the worker's listener thread calls ``_request_cancel`` only. The cancel flag is a
``threading.Event`` so both sides see it without a lock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from corral import errors
from corral.job import JSON, Job, Progress
from corral.store import codec

logger = logging.getLogger("corral.task")


class Reporter(Protocol):
    """Where a context sends what the task reports (implemented by the worker)."""

    def progress_changed(self, ctx: Context) -> None:
        """Progress or phase changed; write it with the next flush."""

    def phase_entered(self, ctx: Context, phase: str) -> None:
        """Note the phase in the audit trail."""

    def save(self, ctx: Context, value: JSON) -> None:
        """Store a partial result now; raise ``Cancelled`` if the job was taken away."""

    def log(self, ctx: Context, message: str, data: dict[str, JSON]) -> None:
        """Note a task log line in the audit trail."""


class Context:
    """Passed as the first argument (``ctx``) to tasks that declare it."""

    def __init__(
        self,
        job: Job,
        reporter: Reporter,
        *,
        phases: tuple[str, ...] = (),
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.job = job
        self._reporter = reporter
        self._phases = phases
        self._loop = loop
        self._async_task: asyncio.Task[object] | None = None
        self._phase: str | None = None
        self._open_phases: list[str] = []  # nested phase blocks, innermost last
        self._progress = Progress()
        self._shield_depth = 0  # written and read by the task's thread / loop only
        self._cancel = threading.Event()  # set by the listener thread
        self._cancel_reason: str | None = None
        self.cancel_requested_at: float | None = None  # monotonic; set with _cancel
        self.progress_moved_at = time.monotonic()  # read by the watchdog

    # -- identity --------------------------------------------------------------------

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def attempt(self) -> int:
        return self.job.attempt

    @property
    def current_phase(self) -> str | None:
        return self._phase

    @property
    def current_progress(self) -> Progress:
        return self._progress

    # -- reporting ---------------------------------------------------------------------

    def progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Report how far the job is (also a cancel checkpoint). Cheap: written in batches.
        Numbers must be finite (``InvalidArguments``); a message keeps what a store can hold."""
        numbers = (float(current), None if total is None else float(total))
        if not all(n is None or math.isfinite(n) for n in numbers):
            raise errors.InvalidArguments(f"progress must be finite numbers, got {numbers}")
        self._progress = Progress(numbers[0], numbers[1],
                                  codec.clean_text(None if message is None else str(message)))
        self.progress_moved_at = time.monotonic()
        self._reporter.progress_changed(self)
        self.checkpoint()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Run a block as the named phase; entering and leaving are checkpoints.

        The job's ``phase`` shows the innermost phase entered; it keeps the last phase's name
        after the block ends, so a finished job shows where it ended.
        """
        codec.check_text(name, "phase")
        if self._phases and name not in self._phases:
            raise errors.ConfigError(
                f"phase {name!r} is not declared by task {self.job.task!r}: {self._phases}",
                phase=name,
            )
        self.checkpoint()
        self._open_phases.append(name)
        self._phase = name
        self._reporter.phase_entered(self, name)
        self._reporter.progress_changed(self)
        try:
            yield
            self.checkpoint()  # while still in the phase: a cancel here reports this phase
        finally:
            self._open_phases.pop()
        if self._open_phases:
            self._phase = self._open_phases[-1]
            self._reporter.progress_changed(self)

    def save(self, value: JSON) -> None:
        """Store ``value`` as the job's result now, so it survives a cancel or crash."""
        _require_json(value, "ctx.save value")
        self._reporter.save(self, value)

    def log(self, message: str, **data: JSON) -> None:
        """Log a line to the ``corral.task`` logger and the job's audit trail."""
        _require_json(data, "ctx.log data")
        logger.info("[%s] %s", self.job.id, message)
        self._reporter.log(self, message, data)

    # -- cancellation ------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once a cancel is pending for this job (a bool to poll in tight loops)."""
        return self._cancel.is_set()

    @property
    def cancel_reason(self) -> str | None:
        return self._cancel_reason

    def checkpoint(self) -> None:
        """Raise ``corral.Cancelled`` if a cancel is pending and no shield is up."""
        if self._cancel.is_set() and self._shield_depth == 0:
            raise errors.Cancelled(self._cancel_reason)

    @contextmanager
    def shield(self) -> Iterator[None]:
        """Never interrupted inside; a pending cancel takes effect when the block exits."""
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1
        self.checkpoint()

    def _mirror(self, phase: str | None, progress: Progress) -> None:
        """Adopt what a child process reported (process isolation's supervisor side)."""
        if progress != self._progress:
            self.progress_moved_at = time.monotonic()
        self._phase = phase
        self._progress = progress

    def _bind_async(self, task: asyncio.Task[object]) -> None:
        """Called on the loop: the asyncio task to cancel when a cancel arrives."""
        self._async_task = task
        if self._cancel.is_set():
            self._cancel_on_loop()

    def _request_cancel(self, reason: str | None) -> None:
        """Called from the worker's listener thread; idempotent."""
        if self._cancel.is_set():
            return
        self._cancel_reason = reason
        self.cancel_requested_at = time.monotonic()
        self._cancel.set()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._cancel_on_loop)

    def _cancel_on_loop(self) -> None:
        """On the loop: ``CancelledError`` at the task's next await, unless shielded (then
        the shield's exit raises ``Cancelled``)."""
        if self._async_task is not None and self._shield_depth == 0:
            self._async_task.cancel(self._cancel_reason)


def _require_json(value: JSON, what: str) -> None:
    codec.encode_json(value, what)  # the store's own rules (InvalidArguments)
