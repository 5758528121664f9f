"""The Store contract for migrations, on every backend."""

from __future__ import annotations

from corral.status import JobStatus
from corral.store import Store

S = JobStatus


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.migrate() == store.migrate()
