"""The Store contract for migrations, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store, migrate, open_store
from corral.store.base import JobFilter
from corral.store.postgres import driver as postgres_store
from tests.factories import WORKER, new_job
from tests.store.helpers import postgres_schema_before, postgres_session

S = JobStatus


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.migrate() == store.migrate()


def test_each_backend_numbers_its_migrations_one_to_n() -> None:
    """A migration that reuses a number is never applied where that number already is."""
    for package in ("corral.store.sqlite", "corral.store.postgres"):
        versions = [m.version for m in migrate.load_migrations(package)]
        assert versions == list(range(1, len(versions) + 1)), (package, versions)


def queries_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> dict[str, str]:
    name = f"store_{tmp_path.name}"  # its own name: Python keeps a package once imported
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "queries.sql").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return migrate.load_queries(name)


def test_a_part_is_written_into_every_query_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    queries = queries_of(tmp_path, monkeypatch, """
-- part: alive
-- Jobs still to run.
status IN ('queued', 'running')
  AND id > :after

-- name: count_alive
SELECT count(*) FROM jobs WHERE {alive};

-- name: oldest_alive
-- The oldest.
SELECT id FROM jobs
WHERE {alive}
ORDER BY id LIMIT 1;
""")
    assert queries == {
        "count_alive": "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')\n"
                       "  AND id > :after",
        "oldest_alive": "SELECT id FROM jobs\nWHERE status IN ('queued', 'running')\n"
                        "  AND id > :after\nORDER BY id LIMIT 1",
    }


def test_a_query_naming_no_such_part_fails_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(LookupError, match="no part 'alive'"):
        queries_of(tmp_path, monkeypatch, "-- name: q\nSELECT 1 WHERE {alive};\n")


def test_postgres_job_ids_compare_as_bytes_and_stored_jobs_keep_their_trail_and_labels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 13: a job's id, in the jobs table, its trail rows and its labels,
    compares byte by byte (COLLATE "C": memcmp, not the C library's strcoll, at every step
    down an index that holds ids). Jobs stored before it are still found by suffix, by
    label and in listing order, with their trail."""
    with postgres_schema_before(13, monkeypatch) as (url, old):
        stored = old.enqueue_jobs([new_job(meta={"crawl": n}) for n in range(50)])
        [claimed] = old.claim_jobs(WORKER, ["default"], 1)
        old.finish_jobs([Outcome.completed(claimed.id, WORKER, 1, "done")])
        old.close()

        store = open_store(url)
        try:
            assert store.migrate() == postgres_store.MIGRATIONS[-1].version
            with postgres_session(url) as conn:
                collations = conn.execute(
                    "SELECT (SELECT collation for (id) FROM jobs LIMIT 1),"
                    " (SELECT collation for (job_id) FROM job_events LIMIT 1),"
                    " (SELECT collation for (job_id) FROM job_labels LIMIT 1)").fetchone()
            assert collations == ('"C"', '"C"', '"C"')
            assert [e.kind for e in store.job_events(claimed.id)] == [
                "enqueued", "claimed", "completed"]
            for job in stored[::10]:
                assert store.jobs_matching_id(job.id.replace("-", "")[-8:], limit=5) == [
                    store.get_job(job.id)]
                [found] = store.list_jobs(JobFilter(meta={"crawl": job.meta["crawl"]}))
                assert found.id == job.id
            newest = max(stored, key=lambda job: job.id)
            assert store.list_jobs(JobFilter(), limit=1)[0].id == newest.id
        finally:
            store.close()
