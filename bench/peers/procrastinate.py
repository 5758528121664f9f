"""procrastinate on PostgreSQL: ``procrastinate worker`` with its defaults (concurrency 1
per process), async tasks; ``defer`` per job, ``batch_defer`` for bulk (one statement);
cancel is ``cancel_job_by_id(id, abort=True)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.peers import base
from bench.peers.postgres import fresh_database


class ProcrastinatePeer(base.Peer):
    name = "procrastinate"
    store = "postgres"
    package = "procrastinate"
    notes: dict[str, str] = {"orphan": "a killed worker's job stays `doing` unless the "
                                       "user runs a stalled-job retry task"}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        from bench.peers import procrastinate_tasks

        self.tasks = procrastinate_tasks
        self.opened = False

    def reset_broker(self) -> None:
        self.close()
        fresh_database()
        self.tasks.app.open()
        self.opened = True
        self.tasks.app.schema_manager.apply_schema()

    def enqueue(self, task: str, tag: str) -> Any:
        return getattr(self.tasks, task).defer(tag=tag)

    def enqueue_bulk(self, task: str, tags: Sequence[str]) -> None:
        getattr(self.tasks, task).batch_defer(*({"tag": tag} for tag in tags))

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        return [base.python_bin("procrastinate"), "--app", "bench.peers.procrastinate_tasks.app",
                "--log-level", "warning", "worker"]

    def cancel(self, handle: Any) -> None:
        self.tasks.app.job_manager.cancel_job_by_id(handle, abort=True)

    def close(self) -> None:
        if self.opened:
            self.tasks.app.close()
            self.opened = False
