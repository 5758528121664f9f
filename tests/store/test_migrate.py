"""The Store contract for migrations, on every backend."""

from __future__ import annotations

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
