"""RQ with its defaults: ``rq worker`` forks a work horse per job, one job at a time.
``Queue.enqueue`` per job, ``Queue.enqueue_many`` (one pipeline) for bulk. RQ's only way to
stop a running job, ``send_stop_job_command``, SIGKILLs the work horse: no ``finally``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis as redis_py
from rq import Queue

from bench.peers import base, redis, rq_jobs


class RqPeer(base.Peer):
    name = "rq"
    store = "redis"
    package = "rq"
    drain_share = 0.1  # a fork per job: ~30 jobs/s, so drain 1,000 of the 10,000
    notes: dict[str, str] = {"drain": "1,000 jobs (a fork per job makes 10,000 take minutes)"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        self.client = redis_py.Redis.from_url(base.REDIS)
        self.queue = Queue("bench", connection=self.client)

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return self.queue.enqueue(getattr(rq_jobs, task), tag).id

    def enqueue_bulk(self, task: str, tags: Sequence[str]) -> None:
        function = getattr(rq_jobs, task)
        self.queue.enqueue_many([Queue.prepare_data(function, (tag,)) for tag in tags])

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("rq"), "worker", "--url", base.REDIS, "--quiet", "bench"]

    def cancel(self, handle: Any) -> None:
        raise base.Unsupported("send_stop_job_command SIGKILLs the work horse: no `finally`")

    def close(self) -> None:
        self.client.close()
