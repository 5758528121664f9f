"""Celery 5 with the Redis broker and its defaults: prefork pool (one child per core),
early acknowledgement, no result backend. ``delay`` per job; Celery has no bulk send (a
``group`` still publishes one message per task). Cancel is ``revoke(terminate=True)``."""

from __future__ import annotations

from typing import Any

from bench.peers import base, redis


class CeleryPeer(base.Peer):
    name = "celery"
    store = "redis"
    package = "celery"
    cancel_kind = "sync"
    notes: dict[str, str] = {"drain": "one worker = the default prefork pool (2 children)"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        from bench.peers import celery_jobs

        self.jobs = celery_jobs

    def reset_broker(self) -> None:
        redis.flush()

    def enqueue(self, task: str, tag: str) -> Any:
        return getattr(self.jobs, task).delay(tag).id

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("celery"), "-A", "bench.peers.celery_jobs", "worker",
                "--loglevel=WARNING", *(["-c", "1"] if concurrency_one else [])]

    def cancel(self, handle: Any) -> None:
        self.jobs.app.control.revoke(handle, terminate=True)

    def close(self) -> None:
        self.jobs.app.close()
