"""saq with its defaults: ``queue.enqueue`` per job (saq has no bulk enqueue; ``map``
waits for results), ``job.abort`` to stop one (checked by the worker every second). The
client is async: one private event loop for the adapter's life."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from saq import Job, Queue

from bench.peers import base, redis


class SaqPeer(base.Peer):
    name = "saq"
    store = "redis"
    package = "saq"
    notes: dict[str, str] = {}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        self.loop = asyncio.new_event_loop()
        self.queue = Queue.from_url(base.REDIS)
        self.loop.run_until_complete(self.queue.connect())

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return self.loop.run_until_complete(self.queue.enqueue(task, tag=tag))

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("saq"), "bench.peers.saq_jobs.settings", "--quiet"]

    def start_worker(self, concurrency_one: bool = False) -> Any:
        os.environ["CORRAL_BENCH_MAX_JOBS"] = "1" if concurrency_one else "10"
        return super().start_worker(concurrency_one)

    def cancel(self, handle: Job) -> None:
        self.loop.run_until_complete(handle.abort("cancelled by the benchmark"))

    def close(self) -> None:
        self.loop.run_until_complete(self.queue.disconnect())
