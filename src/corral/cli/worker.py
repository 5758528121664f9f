"""``corral worker``: run jobs."""

from __future__ import annotations

import logging

import typer

from corral.cli import appload
from corral.worker.worker import DEFAULT_CONCURRENCY, Worker


def worker(
    app: str = typer.Option(..., "--app", help="The app to run, as module:attribute."),
    queues: str = typer.Option("default", "--queues", "-q", help="Comma-separated queues."),
    concurrency: int = typer.Option(DEFAULT_CONCURRENCY, "--concurrency", "-c", min=1,
                                    help="Jobs run at once (threads + async slots)."),
    db: str | None = typer.Option(None, "--db", envvar="CORRAL_DATABASE_URL",
                                  help="Database URL (default sqlite:///corral.db)."),
    heartbeat_interval: str | None = typer.Option(
        None, "--heartbeat-interval", help="Seconds between heartbeats (default 2)."),
    shutdown_grace: str | None = typer.Option(
        None, "--shutdown-grace", help="Time running jobs get on SIGTERM (default 30s)."),
    lease: str | None = typer.Option(
        None, "--lease", help="Silence after which a worker is dead (default 10s)."),
    cancel_grace: str | None = typer.Option(
        None, "--cancel-grace", help="Time a cancelled job gets before escalation (30s)."),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Fixed worker id."),
    log_level: str = typer.Option("INFO", "--log-level", help="Python logging level."),
) -> None:
    """Claim and run jobs until SIGTERM/SIGINT (a second signal exits at once)."""
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    corral_app = appload.load_app(app, db)
    corral_app.settings = corral_app.settings.override(
        heartbeat_interval=heartbeat_interval, shutdown_grace=shutdown_grace, lease=lease,
        cancel_grace=cancel_grace)
    names = tuple(q.strip() for q in queues.split(",") if q.strip())
    Worker(corral_app, queues=names, concurrency=concurrency, worker_id=worker_id).run()

