"""A page of a meta label walks that label's jobs newest first and stops at the page, on
both stores: never a read of every job's meta (issue 15 item 7: fast at 1M rows), nor of
every job a label marks (a tenant's label on many old jobs and few new ones read them
all). The figures are the benchmark's meta_ms_<rows>."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from corral.store import Store, migrate, open_store
from corral.store.base import JobFilter
from corral.store.engine import Engine, _listing
from corral.store.postgres import driver as postgres_driver
from corral.store.postgres.driver import MIGRATIONS
from corral.store.sqlite.driver import SQLiteDriver
from tests.factories import new_job
from tests.store.helpers import postgres_session

SQLITE_QUERIES = migrate.load_queries("corral.store.sqlite")
POSTGRES_QUERIES = migrate.load_queries("corral.store.postgres")


def labelled(meta: dict[str, Any], limit: int) -> dict[str, Any]:
    """The parameters the engine gives list_jobs_labelled for ``meta``."""
    query, params = _listing(JobFilter(meta=meta), limit=limit)
    assert query == "list_jobs_labelled"
    return params


def old_and_new(store: Store) -> list[str]:
    """A tenant's 1,500 old jobs, 1,500 of another tenant's, then 5 of the first again;
    returns the first tenant's ids, newest first."""
    ids = [job.id for job in store.enqueue_jobs([new_job(meta={"tenant": "acme", "n": n})
                                                 for n in range(1500)])]
    store.enqueue_jobs([new_job(meta={"tenant": "zenith"}) for _ in range(1500)])
    ids += [job.id for job in store.enqueue_jobs([new_job(meta={"tenant": "acme"})
                                                  for _ in range(5)])]
    return ids[::-1]


def test_sqlite_walks_a_label_newest_first_and_stops_at_the_page(sqlite_store: Store) -> None:
    assert isinstance(sqlite_store, Engine) and isinstance(sqlite_store.driver, SQLiteDriver)
    acme = old_and_new(sqlite_store)
    params = labelled({"tenant": "acme"}, 10)
    with sqlite3.connect(sqlite_store.driver.path) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + SQLITE_QUERIES["list_jobs_labelled"],
                            params).fetchall()
    steps = {row[0]: (row[1], row[3]) for row in rows}

    def within_walked(step: int) -> bool:  # the choice of the label: a sort of labels
        while step in steps:
            step, detail = steps[step]
            if detail == "MATERIALIZE walked":
                return True
        return False

    plan = [detail for _, detail in steps.values()]
    assert any(detail.startswith("SEARCH labels USING COVERING INDEX job_labels_match")
               for detail in plan), plan
    assert not any(step.startswith("SCAN jobs") for step in plan), plan
    assert all(within_walked(row[0]) for row in rows if "TEMP B-TREE" in row[3]), plan
    page = sqlite_store.list_jobs(JobFilter(meta={"tenant": "acme"}), limit=10)
    assert [job.id for job in page] == acme[:10]
    after = sqlite_store.list_jobs(JobFilter(meta={"tenant": "acme"}, before_id=acme[9]),
                                   limit=10)
    assert [job.id for job in after] == acme[10:20]


def test_sqlite_labels_go_with_their_job(sqlite_store: Store) -> None:
    assert isinstance(sqlite_store, Engine) and isinstance(sqlite_store.driver, SQLiteDriver)
    jobs = sqlite_store.enqueue_jobs([new_job(meta={"crawl_job_id": n % 3, "ok": n % 2 == 0})
                                      for n in range(30)])
    found = sqlite_store.list_jobs(JobFilter(meta={"crawl_job_id": 1, "ok": True}))
    assert {job.id for job in found} == {
        job.id for n, job in enumerate(jobs) if n % 3 == 1 and n % 2 == 0}
    deleted = [job.id for job in found]
    sqlite_store.cancel_jobs(deleted, actor="t", reason=None)
    sqlite_store.delete_jobs(deleted)
    assert sqlite_store.list_jobs(JobFilter(meta={"crawl_job_id": 1, "ok": True})) == []
    with sqlite3.connect(sqlite_store.driver.path) as conn:
        left = conn.execute("SELECT count(*) FROM job_labels WHERE job_id IN "
                            "(SELECT value FROM json_each(?))", (json.dumps(deleted),))
        assert left.fetchone()[0] == 0


def postgres_walk(db_url: str, meta: dict[str, Any], limit: int) -> tuple[int, str]:
    """How many label rows a page of ``meta`` walked on PostgreSQL, and the plan."""
    with postgres_session(db_url) as conn:
        conn.execute("ANALYZE")
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) " + POSTGRES_QUERIES["list_jobs_labelled"],
            labelled(meta, limit)))
    walk = next(line for line in plan.splitlines() if "on job_labels labels" in line)
    assert "Backward using job_labels_match" in walk, plan
    assert "Sort Key: labels" not in plan and "Sort Key: jobs" not in plan, plan
    return int(walk.split("rows=")[1].split()[0]), plan


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_walks_a_label_newest_first_and_stops_at_the_page(
    store: Store, db_url: str,
) -> None:
    acme = old_and_new(store)
    walked, plan = postgres_walk(db_url, {"tenant": "acme"}, 10)
    assert walked <= 20, plan  # the page, not the 1,505 jobs the label marks
    walked, plan = postgres_walk(db_url, {"tenant": "acme", "n": 40}, 10)
    assert walked == 1, plan  # the rarer label of the two, given second
    page = store.list_jobs(JobFilter(meta={"tenant": "acme"}), limit=10)
    assert [job.id for job in page] == acme[:10]
    after = store.list_jobs(JobFilter(meta={"tenant": "acme"}, before_id=acme[9]), limit=10)
    assert [job.id for job in after] == acme[10:20]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_writes_label_rows_for_labelled_jobs_only_and_drops_them_with_the_job(
    store: Store, db_url: str,
) -> None:
    sent = [new_job(meta={"crawl_job_id": n % 5, "deep": {"x": 1}} if n % 2 else {})
            for n in range(20)]
    jobs = store.enqueue_jobs(sent)
    assert store.enqueue_jobs(sent) == jobs  # a retry (its commit unacknowledged) adds none
    with postgres_session(db_url) as conn:
        rows = conn.execute("SELECT key, value, job_id FROM job_labels").fetchall()
        assert sorted(rows) == sorted(("crawl_job_id", n % 5, job.id)
                                      for n, job in enumerate(jobs) if n % 2)
    gone = [job.id for job in store.list_jobs(JobFilter(meta={"crawl_job_id": 1}))]
    assert len(gone) == 2
    store.cancel_jobs(gone, actor="t", reason=None)
    store.delete_jobs(gone)
    with postgres_session(db_url) as conn:
        left = conn.execute("SELECT count(*) FROM job_labels WHERE job_id = ANY(%s)",
                            (gone,)).fetchone()
        assert left == (0,)
    assert store.list_jobs(JobFilter(meta={"crawl_job_id": 1})) == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_labels_the_jobs_a_store_held_before_its_label_table(
    db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Migration 10 writes the label rows of the jobs already stored (inserted here as a
    release before it did: its own statement wrote no label rows)."""
    older = open_store(db_url)
    try:
        with monkeypatch.context() as before_labels:
            before_labels.setattr(postgres_driver, "MIGRATIONS", MIGRATIONS[:9])
            assert older.migrate() == 9
        ids = [new_job().id for _ in range(12)]
        with postgres_session(db_url) as conn:
            for n, job_id in enumerate(ids):
                conn.execute("INSERT INTO jobs (id, task, status, run_at, created_at, meta) "
                             "VALUES (%s, 't', 'queued', now(), now(), %s)",
                             (job_id, json.dumps({"crawl_job_id": n % 4})))
        assert older.migrate() == MIGRATIONS[-1].version
        found = older.list_jobs(JobFilter(meta={"crawl_job_id": 3}))
    finally:
        older.close()
    assert [job.id for job in found] == [job_id for n, job_id in enumerate(ids) if n % 4 == 3][::-1]


def edit_meta_by_hand(store: Store, db_url: str, job_id: str, meta: dict[str, Any]) -> None:
    """What an operator does in psql or the sqlite3 shell, outside corral."""
    if db_url.startswith("sqlite"):
        assert isinstance(store, Engine) and isinstance(store.driver, SQLiteDriver)
        with sqlite3.connect(store.driver.path) as conn:
            conn.execute("UPDATE jobs SET meta = ? WHERE id = ?", (json.dumps(meta), job_id))
        conn.close()
        return
    with postgres_session(db_url) as conn:
        conn.execute("UPDATE jobs SET meta = %s WHERE id = %s", (json.dumps(meta), job_id))


def test_labels_follow_a_hand_made_edit_of_meta(store: Store, db_url: str) -> None:
    """Migration 11: a label an operator adds by hand is found, one removed is not."""
    edited, other = store.enqueue_jobs([new_job(meta={"tenant": "acme", "n": 1}),
                                        new_job(meta={"tenant": "acme"})])
    edit_meta_by_hand(store, db_url, edited.id, {"tenant": "zenith", "vip": True})

    def found(meta: dict[str, Any]) -> list[str]:
        return [job.id for job in store.list_jobs(JobFilter(meta=meta))]

    assert found({"vip": True}) == [edited.id]
    assert found({"tenant": "zenith"}) == [edited.id]
    assert found({"tenant": "acme"}) == [other.id]
    assert found({"n": 1}) == []
    edit_meta_by_hand(store, db_url, edited.id, {})
    assert found({"vip": True}) == [] and found({"tenant": "zenith"}) == []
    store.cancel_jobs([edited.id], actor="t", reason=None)  # corral's own update: no relabel
    edit_meta_by_hand(store, db_url, other.id, {"tenant": "acme", "n": 2})
    assert found({"tenant": "acme", "n": 2}) == [other.id]
