"""A deleted job takes its trail rows with it, and no other job's. On PostgreSQL a delete
trigger does it (migration 12 dropped the trail's foreign key, which checked every trail
row as it was written), for corral's deletes and an operator's alike."""

from __future__ import annotations

import sqlite3

import pytest

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import NewEvent
from corral.store.engine import Engine
from corral.store.sqlite.driver import SQLiteDriver
from tests.factories import make_job
from tests.store.helpers import postgres_session


def trail_rows(store: Store, db_url: str) -> dict[str, int]:
    """Trail rows per job id, read from the table itself."""
    query = "SELECT job_id, count(*) FROM job_events GROUP BY job_id"
    if db_url.startswith("sqlite"):
        assert isinstance(store, Engine) and isinstance(store.driver, SQLiteDriver)
        with sqlite3.connect(store.driver.path) as conn:
            rows = conn.execute(query).fetchall()
        conn.close()
        return dict(rows)
    with postgres_session(db_url) as pg:
        return dict(pg.execute(query).fetchall())


def test_deleted_jobs_take_their_trail_rows_and_no_others(store: Store, db_url: str) -> None:
    done = [make_job(store, status) for status in
            (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.COMPLETED)]
    kept = make_job(store, JobStatus.RUNNING)
    before = trail_rows(store, db_url)
    assert all(before[job.id] >= 1 for job in [*done, kept])
    store.delete_jobs([job.id for job in done[:3]])
    assert trail_rows(store, db_url) == {done[3].id: before[done[3].id],
                                         kept.id: before[kept.id]}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_operators_delete_in_psql_takes_the_trail_rows_too(store: Store, db_url: str) -> None:
    gone, kept = make_job(store, JobStatus.COMPLETED), make_job(store, JobStatus.FAILED)
    with postgres_session(db_url) as pg:
        pg.execute("DELETE FROM jobs WHERE id = %s", (gone.id,))
    assert set(trail_rows(store, db_url)) == {kept.id}
    assert store.job_events(kept.id)


def test_a_note_for_a_job_deleted_meanwhile_writes_no_row(store: Store, db_url: str) -> None:
    """The statement writes notes only for jobs that exist, on both stores: refused (by
    SQLite's foreign key, as it was), the note failed the whole write, and a worker's
    recorder retried it forever with every outcome queued behind it."""
    kept = make_job(store, JobStatus.RUNNING)
    store.add_events([NewEvent(job_id="deleted-by-hand", kind="log", reason="late"),
                      NewEvent(job_id=kept.id, kind="log", reason="kept")])
    assert "deleted-by-hand" not in trail_rows(store, db_url)
    assert [e.reason for e in store.job_events(kept.id) if e.kind == "log"] == ["kept"]
