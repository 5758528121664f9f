"""arq with its defaults (``max_jobs`` 10, polling every 0.5 s) plus ``allow_abort_jobs``:
``enqueue_job`` per job (arq has no bulk enqueue), ``Job.abort`` to stop one. The client
is async: it runs on one private event loop for the adapter's life."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.jobs import Job

from bench.peers import base, redis


class ArqPeer(base.Peer):
    name = "arq"
    store = "redis"
    package = "arq"
    notes: dict[str, str] = {"cancel": "worker started with allow_abort_jobs=True (off by "
                                       "default); aborts are polled every 0.5 s"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        self.loop = asyncio.new_event_loop()
        self.pool: ArqRedis = self.loop.run_until_complete(
            create_pool(RedisSettings.from_dsn(base.REDIS)))

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return self.loop.run_until_complete(self.pool.enqueue_job(task, tag))

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("arq"), "bench.peers.arq_jobs.WorkerSettings"]

    def start_worker(self, concurrency_one: bool = False) -> Any:
        os.environ["CORRAL_BENCH_MAX_JOBS"] = "1" if concurrency_one else "10"
        return super().start_worker(concurrency_one)

    def cancel(self, handle: Job) -> None:
        """Requests the abort and returns (the harness waits for the job's ``finally``)."""
        with contextlib.suppress(TimeoutError):
            self.loop.run_until_complete(handle.abort(timeout=0))

    def close(self) -> None:
        self.loop.run_until_complete(self.pool.aclose())
