"""Dramatiq with its defaults (Redis broker, 8 worker threads) in one worker process
(``--processes 1``; its default is one per core). ``send`` per message, no bulk enqueue,
and no way in core to stop a running message."""

from __future__ import annotations

from typing import Any

from bench.peers import base, redis


class DramatiqPeer(base.Peer):
    name = "dramatiq"
    store = "redis"
    package = "dramatiq"
    notes: dict[str, str] = {"drain": "`--processes 1`: one worker process, 8 threads"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        from bench.peers import dramatiq_jobs

        self.jobs = dramatiq_jobs

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return getattr(self.jobs, task).send(tag)

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        threads = ["--threads", "1"] if concurrency_one else []
        return [base.python_bin("dramatiq"), "bench.peers.dramatiq_jobs", "--processes", "1",
                *threads]

    def close(self) -> None:
        self.jobs.broker.close()
