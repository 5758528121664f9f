"""``corral stats`` and ``corral workers``: the state of the whole system at a glance."""

from __future__ import annotations

from corral.app import Corral
from corral.cli import render
from corral.cli.session import DEFAULT_DB, AsJson, Db, read


def stats(db: Db = DEFAULT_DB, as_json: AsJson = False) -> None:
    """Jobs per status, stalled, throughput, queues, workers alive, stopped and dead."""
    read(db, as_json, Corral.stats, render.stats)


def workers(db: Db = DEFAULT_DB, as_json: AsJson = False) -> None:
    """Every registered worker (alive, stopped or dead) and the jobs it holds."""
    read(db, as_json, Corral.workers, render.workers_table,
         lambda found: [{**render.plain(worker), "jobs": jobs} for worker, jobs in found])
