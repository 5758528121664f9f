"""Meta labels are found through an index on both stores, never by reading every job's
meta (issue 15 item 7: fast at 1M rows; the figures are the benchmark's meta_ms_<rows>)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
import pytest

from corral.store import Store, migrate
from corral.store.base import JobFilter
from corral.store.engine import Engine, _listing
from corral.store.postgres import connection
from corral.store.sqlite.driver import SQLiteDriver
from tests.factories import new_job

SQLITE_QUERIES = migrate.load_queries("corral.store.sqlite")
POSTGRES_QUERIES = migrate.load_queries("corral.store.postgres")


def labelled(meta: dict[str, Any], limit: int) -> dict[str, Any]:
    """The parameters the engine gives list_jobs_labelled for ``meta`` (the index's
    source: no walk of the newest jobs)."""
    query, params = _listing(JobFilter(meta=meta), limit=limit)
    assert query == "list_jobs_labelled"
    return params


def test_sqlite_finds_labelled_jobs_by_index_probes(sqlite_store: Store) -> None:
    assert isinstance(sqlite_store, Engine) and isinstance(sqlite_store.driver, SQLiteDriver)
    jobs = sqlite_store.enqueue_jobs([new_job(meta={"crawl_job_id": n % 3, "ok": n % 2 == 0})
                                      for n in range(30)])
    params = labelled({"crawl_job_id": 1, "ok": True}, 100)
    with sqlite3.connect(sqlite_store.driver.path) as conn:
        plan = [row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN " + SQLITE_QUERIES["list_jobs_labelled"], params)]
    assert any(step.startswith("SEARCH jobs USING INDEX") for step in plan), plan
    assert any("job_labels_match" in step for step in plan), plan
    assert not any(step.startswith("SCAN jobs") for step in plan), plan
    found = sqlite_store.list_jobs(JobFilter(meta={"crawl_job_id": 1, "ok": True}))
    assert {job.id for job in found} == {
        job.id for n, job in enumerate(jobs) if n % 3 == 1 and n % 2 == 0}
    deleted = [job.id for job in found]
    sqlite_store.cancel_jobs(deleted, actor="t", reason=None)
    sqlite_store.delete_jobs(deleted)
    assert sqlite_store.list_jobs(JobFilter(meta={"crawl_job_id": 1, "ok": True})) == []
    with sqlite3.connect(sqlite_store.driver.path) as conn:  # labels go with their job
        left = conn.execute("SELECT count(*) FROM job_labels WHERE job_id IN "
                            "(SELECT value FROM json_each(?))", (json.dumps(deleted),))
        assert left.fetchone()[0] == 0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_indexes_only_jobs_with_labels_and_finds_them_by_index(
    store: Store, db_url: str,
) -> None:
    """Every status change rewrites a job's index entries, so jobs without meta stay out of
    the meta index (it cost ~15% of claim + finish); a label lookup still probes it."""
    store.enqueue_jobs([new_job(meta={"crawl_job_id": n % 50} if n % 2 else {})
                        for n in range(2000)])
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, autocommit=True,
                         options=f"-c search_path={target.schema}") as conn:
        conn.execute("ANALYZE jobs")
        conn.execute("SET enable_seqscan = off")  # a small table: ask whether it *can*
        params = labelled({"crawl_job_id": 7}, 100)
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN " + POSTGRES_QUERIES["list_jobs_labelled"], params))
        indexed = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_meta' "
                               "AND schemaname = %s", (target.schema,)).fetchone()
    assert "jobs_meta" in plan, plan
    assert indexed is not None and "WHERE" in indexed[0], indexed
    assert len(store.list_jobs(JobFilter(meta={"crawl_job_id": 7}))) == 40  # 7, 57, ... 1957


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_finds_an_old_label_by_the_index_not_by_walking_every_newer_job(
    store: Store, db_url: str,
) -> None:
    """A label marks jobs enqueued together (a crawl). Left to itself the planner walked
    the primary key newest first, expecting matches spread evenly, and read every newer
    job to find an old crawl (230 ms at 1M rows); the lookup must read the matches.
    And the meta index keeps its pending list short: every lookup reads it end to end
    until something merges it (4 MB by default)."""
    store.enqueue_jobs([new_job(meta={"crawl_job_id": n // 100}) for n in range(5000)])
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, autocommit=True,
                         options=f"-c search_path={target.schema}") as conn:
        conn.execute("ANALYZE jobs")
        params = labelled({"crawl_job_id": 0}, 10)
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN " + POSTGRES_QUERIES["list_jobs_labelled"], params))
        options = conn.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'jobs_meta'::regclass").fetchone()
    assert "Bitmap Index Scan on jobs_meta" in plan, plan
    assert "jobs_pkey" not in plan, plan
    assert options is not None and "gin_pending_list_limit=256" in (options[0] or []), options
    found = store.list_jobs(JobFilter(meta={"crawl_job_id": 0}), limit=10)
    assert [job.meta for job in found] == [{"crawl_job_id": 0}] * 10
