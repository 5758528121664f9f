"""Both backends answer the engine with the same named queries (DESIGN §7, STYLE habit 3):
a query the engine runs exists in both ``queries.sql`` files, and only the driver
mechanisms declared here are one backend's alone."""

from __future__ import annotations

import ast
from pathlib import Path

from corral.store import engine, migrate

SQLITE = set(migrate.load_queries("corral.store.sqlite"))
POSTGRES = set(migrate.load_queries("corral.store.postgres"))

SQLITE_ONLY = {
    "has_due_work",  # a read before the write lock, so idle workers poll without it
    "live_doorbells",  # whom to ring after a commit
    "last_id",  # where a new reader of the outbox or the change log starts
    "read_notifications", "read_changes",  # the outbox a listener reads, and the change
    # log a live feed reads
    "feed_doorbells",  # the live feeds to ring after a write (PostgreSQL: NOTIFY)
}
POSTGRES_ONLY = {
    "clear_lock_sighting",  # a worker that took its advisory lock back voids a sighting
    "cancel_now",  # a cancel in one round trip (Driver.cancel_at_once); SQLite has no
    # round trips to save, and its stop requests ring doorbells from Python after commit
}


def test_the_backends_have_the_same_queries_but_the_declared_few() -> None:
    assert SQLITE - POSTGRES == SQLITE_ONLY
    assert POSTGRES - SQLITE == POSTGRES_ONLY
    assert len(SQLITE_ONLY | POSTGRES_ONLY) <= 8


def test_every_query_the_engine_runs_exists_in_both_backends() -> None:
    tree = ast.parse(Path(engine.__file__).read_text())
    named = {
        node.args[0].value for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("rows", "count", "read") and node.args
        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    } | {"mark_stalled", "mark_unresponsive", "list_jobs_labelled"}  # named by variable
    assert len(named) > 40
    assert named <= SQLITE & POSTGRES
