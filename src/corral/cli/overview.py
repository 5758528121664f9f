"""``corral stats`` and ``corral workers``: the state of the whole system at a glance."""

from __future__ import annotations

from corral.cli import render
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened


def stats(db: Db = DEFAULT_DB, as_json: AsJson = False) -> None:
    """Jobs per status, stalled, throughput, queues, workers alive and dead."""
    with opened(db) as app:
        data = app.stats()
    if as_json:
        render.json(data)
    else:
        render.stats(data)


def workers(db: Db = DEFAULT_DB, as_json: AsJson = False) -> None:
    """Every registered worker (alive or dead) and the jobs it holds."""
    with opened(db) as app:
        found = app.workers()
    if as_json:
        render.json([{**render.plain(worker), "jobs": jobs} for worker, jobs in found])
    else:
        render.workers_table(found)
