"""Huey with its defaults: ``huey_consumer`` with one worker thread, RedisHuey. Calling a
task enqueues it; there is no bulk enqueue, and ``revoke`` only stops a job not started."""

from __future__ import annotations

from typing import Any

from bench.peers import base, redis


class HueyPeer(base.Peer):
    name = "huey"
    store = "redis"
    package = "huey"
    notes: dict[str, str] = {"cancel": "revoke only skips a job that has not started"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        from bench.peers import huey_jobs

        self.jobs = huey_jobs

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return getattr(self.jobs, task)(tag)

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("huey_consumer"), "bench.peers.huey_jobs.huey", "--quiet"]
