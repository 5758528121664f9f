"""pgqueuer on PostgreSQL: ``pgq run`` with its defaults (batch size 10, 30 s heartbeat
timeout), async jobs, client calls through ``Queries`` on one psycopg async connection.
Bulk enqueue is one ``Queries.enqueue([...], [...], [...])`` call; cancel is
``mark_job_as_cancelled`` (NOTIFY to the worker, which cancels the job's scope)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import psycopg
from pgqueuer.queries import Queries

from bench.peers import base
from bench.peers.postgres import fresh_database


class PgqueuerPeer(base.Peer):
    name = "pgqueuer"
    store = "postgres"
    package = "pgqueuer"
    notes: dict[str, str] = {}

    def __init__(self, marks: Any) -> None:
        super().__init__(marks)
        self.loop = asyncio.new_event_loop()
        self.connection: psycopg.AsyncConnection[Any] | None = None
        self.queries: Queries | None = None

    def reset_broker(self) -> None:
        self.close()
        fresh_database()
        self.connection = self.loop.run_until_complete(
            psycopg.AsyncConnection.connect(base.POSTGRES, autocommit=True))
        self.queries = Queries.from_psycopg_connection(self.connection)
        self.loop.run_until_complete(self.queries.install())

    def _queries(self) -> Queries:
        assert self.queries is not None, "reset() first"
        return self.queries

    def enqueue(self, task: str, tag: str) -> Any:
        ids = self.loop.run_until_complete(self._queries().enqueue(task, tag.encode()))
        return ids[0]

    def enqueue_bulk(self, task: str, tags: Sequence[str]) -> None:
        self.loop.run_until_complete(self._queries().enqueue(
            [task] * len(tags), [tag.encode() for tag in tags], [0] * len(tags)))

    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        limit = ["--max-concurrent-tasks", "2", "--batch-size", "1"] if concurrency_one else []
        return [base.python_bin("pgq"), "--pg-dsn", base.POSTGRES, "run", "--log-level",
                "WARNING", *limit, "bench.peers.pgqueuer_tasks:main"]

    def cancel(self, handle: Any) -> None:
        self.loop.run_until_complete(self._queries().mark_job_as_cancelled([handle]))

    def close(self) -> None:
        if self.connection is not None:
            self.loop.run_until_complete(self.connection.close())
            self.connection = None
