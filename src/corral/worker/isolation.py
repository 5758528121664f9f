"""Where task code runs: sync tasks on a thread pool, async tasks on one event loop.

Both runners (and ``process.ProcessRunner`` for ``isolation="process"``) take an
``Execution`` and call ``done(outcome)`` exactly once when the code has stopped, whatever
way it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from corral import ids
from corral.outcome import Outcome
from corral.worker import executor
from corral.worker.executor import Execution

logger = logging.getLogger("corral.worker")
Done = Callable[[Outcome], None]


class ThreadRunner:
    """A pool of ``size`` threads for sync tasks."""

    def __init__(self, size: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="corral-task")

    def submit(self, execution: Execution, done: Done) -> None:
        future = self._pool.submit(executor.call_sync, execution)
        future.add_done_callback(lambda f: _deliver(f, execution, done))

    def shutdown(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


class AsyncRunner:
    """One event loop in its own thread for every ``async def`` task of the worker."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="corral-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def submit(self, execution: Execution, done: Done) -> None:
        future = asyncio.run_coroutine_threadsafe(executor.call_async(execution), self.loop)
        future.add_done_callback(lambda f: _deliver(f, execution, done))

    def shutdown(self, wait: bool) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        if wait:
            self._thread.join(timeout=5)


def _deliver(future: Future[Outcome], execution: Execution, done: Done) -> None:
    """Hand the outcome on; a runner that itself failed still yields a failed outcome."""
    try:
        outcome = future.result()
    except BaseException as exc:
        logger.exception("runner failed for job %s", ids.short(execution.job_id))
        outcome = executor.outcome_of_error(execution, exc)
    done(outcome)
