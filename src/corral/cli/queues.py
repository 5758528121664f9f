"""``corral queues``: limits, pause and resume (DESIGN §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.app import Corral
from corral.cli import render
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened, read

queues = typer.Typer(name="queues", invoke_without_command=True,
                     rich_markup_mode="markdown",
                     help="List queues; set limits, pause and resume them.")
Name = Annotated[str, typer.Argument(help="The queue.")]


@queues.callback()
def list_queues(ctx: typer.Context, db: Db = DEFAULT_DB, as_json: AsJson = False) -> None:
    """Every queue with jobs, a live worker or rules: limit, paused or not, depth."""
    if ctx.invoked_subcommand is not None:
        return
    read(db, as_json, Corral.queues, render.queues_table)


@queues.command("set")
def set_limit(
    name: Name,
    limit: Annotated[int, typer.Option(
        "--limit", min=0, help="Jobs running at once across all workers; 0 = no limit.")],
    db: Db = DEFAULT_DB,
) -> None:
    """Limit how many jobs of a queue run at once (1: one at a time)."""
    with opened(db) as app:
        app.set_queue_limit(name, limit or None)
    render.info(f"queue {name}: " + (f"at most {limit} running at once" if limit
                                     else "no limit"))


@queues.command("pause")
def pause(name: Name, db: Db = DEFAULT_DB) -> None:
    """Start no new job from this queue (running ones go on)."""
    with opened(db) as app:
        app.pause_queue(name)
    render.info(f"queue {name} paused: running jobs go on, no new job starts")


@queues.command("resume")
def resume(name: Name, db: Db = DEFAULT_DB) -> None:
    """Start jobs from this queue again."""
    with opened(db) as app:
        app.resume_queue(name)
    render.info(f"queue {name} resumed")
