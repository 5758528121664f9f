"""A PostgreSQL store keeps working while a newer process migrates the schema under it."""

from __future__ import annotations

import psycopg
import pytest

from corral.status import JobStatus
from corral.store import Store
from corral.store.postgres import connection
from tests.factories import make_job


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_prepared_reads_survive_a_migration_that_adds_columns(store: Store, db_url: str) -> None:
    job = make_job(store, JobStatus.QUEUED)
    for _ in range(10):  # psycopg prepares a statement after its fifth run
        assert store.get_job(job.id) is not None
        store.list_workers()
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, autocommit=True) as admin:
        admin.execute(f"ALTER TABLE {target.schema}.jobs ADD COLUMN added_later integer")
        admin.execute(f"ALTER TABLE {target.schema}.workers ADD COLUMN added_later integer")
    found = store.get_job(job.id)
    assert found is not None and found.id == job.id
    assert store.list_workers() == []
    assert [j.id for j in store.claim_jobs("w", ["default"], 5)] == [job.id]
