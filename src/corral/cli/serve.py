"""``corral serve``: the HTTP API (uvicorn), optionally with a worker in the same process.

Secure by default (DESIGN §8): without a token the server binds loopback only and says so;
a public address without a token is refused. Tokens come from the environment
(``CORRAL_ADMIN_TOKEN``, ``CORRAL_READ_TOKEN``) or the app's settings, never from flags
(flags show in ``ps``), and are never logged.
"""

from __future__ import annotations

import ipaddress
import logging

import typer

from corral import errors
from corral.cli import appload
from corral.worker.worker import DEFAULT_CONCURRENCY, Worker

logger = logging.getLogger("corral.http")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    app: str = typer.Option(..., "--app", help="The app whose tasks can be enqueued."),
    db: str | None = typer.Option(None, "--db", envvar="CORRAL_DATABASE_URL",
                                  help="Database URL (default sqlite:///corral.db)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    with_worker: bool = typer.Option(False, "--with-worker",
                                     help="Also run a worker in this process."),
    queues: str = typer.Option("default", "--queues", "-q",
                               help="Queues of the --with-worker worker."),
    concurrency: int = typer.Option(DEFAULT_CONCURRENCY, "--concurrency", "-c", min=1),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Serve the HTTP API at /api/v1 (OpenAPI at /openapi.json) and the web UI at /."""
    import uvicorn  # here, not at the top: `corral worker` should not load a web stack

    from corral.http import background, create_app

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    corral_app = appload.load_app(app, db)
    settings = corral_app.settings
    if not (settings.admin_token or settings.read_token):
        if not is_loopback(host):
            raise errors.ConfigError(
                f"refusing to serve on {host} without a token: set CORRAL_ADMIN_TOKEN")
        logger.warning("no CORRAL_ADMIN_TOKEN set: the API is open, bound to %s only", host)
    sock = background.listening_socket(host, port)
    api = create_app(corral_app, admin_token=settings.admin_token,
                     read_token=settings.read_token)
    worker = None
    if with_worker:
        names = tuple(q.strip() for q in queues.split(",") if q.strip())
        worker = Worker(corral_app, queues=names, concurrency=concurrency)
        worker.start()
    bound_host, bound_port = sock.getsockname()[:2]
    logger.info("serving the web UI at http://%s:%d/ and the API at /api/v1",
                bound_host, bound_port)
    try:
        uvicorn.Server(background.server_config(api, log_level=log_level.lower())).run(
            sockets=[sock])
    finally:
        if worker is not None:
            worker.stop(timeout=settings.shutdown_grace)
