"""The Store contract for migrations, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.status import JobStatus
from corral.store import Store, migrate

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
