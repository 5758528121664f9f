"""``corral demo``: the dashboard and a worker on SQLite running the ticker example, one
job cancelled mid-phase; then more tickers now and then, so the dashboard stays live
until Ctrl+C (``--once``: one round, then exit)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import typer
from rich.live import Live
from rich.table import Table

from corral import ids
from corral.app import Corral
from corral.cli.render import STATUS_STYLE
from corral.job import Job

TICKERS = ["RY.TO", "TD.TO", "SHOP.TO", "ENB.TO"]
ROUND_EVERY = 20.0  # seconds between the demo's rounds of tickers


def demo(
    db: str = typer.Option("sqlite:///corral-demo/demo.db", "--db",
                           help="Where the demo keeps its jobs."),
    articles: int = typer.Option(20, "--articles", min=1, help="Steps per phase."),
    port: int = typer.Option(8000, "--port", min=0, max=65535,
                             help="Dashboard port on 127.0.0.1 (0: any free port)."),
    once: bool = typer.Option(False, "--once", help="One round of jobs, then exit."),
) -> None:
    """Serve the dashboard and run a worker on the ticker example: 4 jobs with phases, one
    cancelled mid-digest; then a new round every 20 s until Ctrl+C."""
    if db.startswith("sqlite:///"):
        Path(db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    os.environ["CORRAL_DATABASE_URL"] = db
    logging.basicConfig(level=logging.WARNING)
    from corral.examples import tickers
    from corral.http import create_app
    from corral.http.background import serving
    from corral.worker.worker import Worker

    app = tickers.app
    worker = Worker(app, queues=["tickers"], concurrency=4)
    worker.start()
    try:
        with serving(create_app(app), port=port) as url:
            typer.echo(f"corral demo: dashboard at {url}/  (API {url}/api/v1, jobs in {db})")
            _first_round(app, articles)
            if once:
                return
            typer.echo(f"\nstill serving {url}/ with a new round of tickers every "
                       f"{ROUND_EVERY:.0f} s; Ctrl+C to stop")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(ROUND_EVERY)
                    app.batch([tickers.process_ticker.s(t, articles=articles)
                               for t in TICKERS], name="demo round")
    finally:
        worker.stop(wait=False)


def _first_round(app: Corral, articles: int) -> None:
    """Four tickers and a quote, live in a table; one ticker cancelled during digest."""
    from corral.examples import tickers

    handles = app.enqueue_many(
        [tickers.process_ticker.s(t, articles=articles) for t in TICKERS]
        + [tickers.fetch_quote.s("RY.TO")]
    )
    victim = handles[2]
    cancelled = False
    with Live(_table([h.job for h in handles]), refresh_per_second=10) as live:
        while True:
            jobs = [h.refresh() for h in handles]
            live.update(_table(jobs))
            in_digest = victim.job.phase == "digest" and victim.job.progress.current >= 7
            if not cancelled and in_digest:
                victim.cancel(reason="demo: cancelled during digest")
                cancelled = True
            if all(job.is_terminal for job in jobs):
                break
            time.sleep(0.1)
    typer.echo()
    events = [e for e in victim.events() if e.kind == "cancelled"]
    if events:
        data = events[-1].data
        typer.echo(f"{ids.short(victim.id)} cancelled in phase {data.get('was_in_phase')!r} "
                   f"{data.get('latency_ms')} ms after the request; "
                   f"partial result kept: {victim.job.result}")


def _table(jobs: list[Job]) -> Table:
    table = Table(title="corral demo", expand=False)
    for column in ("job", "task", "args", "status", "phase", "progress", "message"):
        table.add_column(column)
    for job in jobs:
        ratio = job.progress.ratio
        bar = "" if ratio is None else f"{'█' * int(ratio * 20):<20} {ratio:4.0%}"
        style = STATUS_STYLE[job.status]
        table.add_row(ids.short(job.id), job.task, ", ".join(map(str, job.args)),
                      f"[{style}]{job.status}[/]", job.phase or "", bar,
                      job.progress.message or "")
    return table
