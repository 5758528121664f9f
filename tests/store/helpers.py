"""Helpers the store contract files share."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from corral.status import TRANSITIONS, JobStatus
from corral.store import Engine, Store, open_store
from corral.store.base import Listener, Notification
from corral.store.postgres import connection
from corral.store.postgres import driver as postgres_driver
from corral.store.postgres.driver import PostgresDriver
from corral.store.postgres.driver import Q as POSTGRES_QUERIES
from corral.store.sqlite.driver import SCRIPTS, SQLiteDriver
from tests.conftest import POSTGRES_URL, postgres_or_skip


def statuses(store: Store, *ids: str) -> list[JobStatus]:
    return [store.get_job(i).status for i in ids]  # type: ignore[union-attr]


def assert_trail_follows_state_machine(store: Store, job_id: str) -> None:
    for event in store.job_events(job_id):
        if event.to_status is not None:
            assert (event.from_status, event.to_status) in TRANSITIONS, event


def listen_for(listener: Listener, wanted: Callable[[Notification], bool]) -> Notification:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for note in listener.wait(timeout=0.5):
            if wanted(note):
                return note
    raise AssertionError("no such notification within 10 s")


def postgres_session(db_url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain session on the test's schema, outside corral: what an operator's psql is."""
    target = connection.parse(db_url)
    return psycopg.connect(target.conninfo, autocommit=True,
                           options=f"-c search_path={target.schema}")


def planned(store: Store, query: str, *, analyzed: bool = True, **values: Any) -> str:
    """The plan of every statement of ``query`` as the store runs it: SQLite's, and
    PostgreSQL's generic plan (a worker's connections force generic plans) with the
    table's statistics fresh, as autovacuum keeps them, or (``analyzed=False``) as it
    is before autovacuum first gets to a new table: a burst of jobs into a new
    deployment, every benchmark run (see ``without_autovacuum``)."""
    assert isinstance(store, Engine)
    if isinstance(store.driver, SQLiteDriver):
        with sqlite3.connect(store.driver.path) as conn:
            return "\n".join(row[3] for statement in SCRIPTS[query] for row in conn.execute(
                "EXPLAIN QUERY PLAN " + statement,
                dict.fromkeys(re.findall(r":(\w+)", statement))))
    assert isinstance(store.driver, PostgresDriver)
    text = POSTGRES_QUERIES[query]
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", text)))
    with store.driver.connection() as conn, conn.transaction():
        if analyzed:
            conn.execute("ANALYZE jobs")
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE plan_probe AS " + re.sub(
            r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", text))
        try:
            return "\n".join(row["QUERY PLAN"] for row in psycopg.ClientCursor(conn).execute(
                "EXPLAIN EXECUTE plan_probe" + (f"({', '.join(['%s'] * len(names))})"
                                                if names else ""),
                [values[name] for name in names]))
        finally:
            conn.execute("DEALLOCATE plan_probe")


def without_autovacuum(store: Store) -> None:
    """Keep PostgreSQL's autovacuum off the jobs table, so it stays unanalyzed for
    ``planned(analyzed=False)`` however long the test takes (SQLite has none)."""
    assert isinstance(store, Engine)
    if isinstance(store.driver, PostgresDriver):
        with store.driver.connection() as conn:
            conn.execute("ALTER TABLE jobs SET (autovacuum_enabled = false)")


def by_id(store: Store) -> str:
    """How a plan reads when it finds jobs by their primary key."""
    assert isinstance(store, Engine)
    return ("jobs_pkey" if isinstance(store.driver, PostgresDriver)
            else "sqlite_autoindex_jobs_1 (id=?)")


def unbounded_reads(plan: str) -> list[str]:
    """The steps of a ``planned`` plan that read the jobs table, or one of its indexes,
    with no index condition to bound them, or every job of a status: the whole of it,
    however many jobs there are."""
    lines = plan.splitlines()
    return [line.strip() for n, line in enumerate(lines)
            if re.search(r"\bSCAN jobs\b|Seq Scan on jobs\b|jobs_status \(status=\?\)$", line)
            or (re.search(r"Index (Only )?Scan using \w+ on jobs\b", line)
                and "Index Cond" not in "".join(lines[n + 1:n + 2]))]


@contextlib.contextmanager
def postgres_schema_before(version: int, monkeypatch: pytest.MonkeyPatch
                           ) -> Iterator[tuple[str, Store]]:
    """A PostgreSQL schema of its own with the migrations before ``version`` applied: its
    URL and a store on it, to write what a deployment held before that migration (close
    the store, then open a new one on the URL to migrate the rest). Dropped afterwards."""
    postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES_URL}?schema={schema}"
    try:
        old = open_store(url)
        with monkeypatch.context() as patched:
            patched.setattr(postgres_driver, "MIGRATIONS", [
                m for m in postgres_driver.MIGRATIONS if m.version < version])
            old.migrate()
        yield url, old
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

