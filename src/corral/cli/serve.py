"""``corral serve``: the HTTP API (uvicorn), optionally with a worker in the same process.

Secure by default (DESIGN §8): without a token the server binds loopback only and says so;
a public address without a token is refused. Tokens come from the environment
(``CORRAL_ADMIN_TOKEN``, ``CORRAL_READ_TOKEN``), a tokens file (``--tokens-file`` or
``CORRAL_TOKENS_FILE``: named tokens, read and checked before the server binds) or the
app's settings, never from flags (flags show in ``ps``), and are never logged.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

import typer

from corral import config, errors
from corral.worker.worker import DEFAULT_CONCURRENCY, Worker

if TYPE_CHECKING:
    from corral.http.connections import Limits

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
    processes: int = typer.Option(
        1, "--processes", min=1, envvar="CORRAL_SERVE_PROCESSES",
        help="Server processes sharing the port, one core's worth of requests each "
             "(the --with-worker worker runs in the supervising process)."),
    log_level: str = typer.Option("INFO", "--log-level"),
    tokens_file: str | None = typer.Option(
        None, "--tokens-file", envvar="CORRAL_TOKENS_FILE",
        help="Named tokens, one 'name role secret' per line (role admin or read; the "
             "secret may be sha256:<hex>)."),
    keep_alive_timeout: str | None = typer.Option(
        None, "--keep-alive-timeout", envvar="CORRAL_KEEP_ALIVE_TIMEOUT",
        help="Close a connection idle this long, before or between requests (5s)."),
    header_timeout: str | None = typer.Option(
        None, "--header-timeout", envvar="CORRAL_HEADER_TIMEOUT",
        help="Close a connection whose request head takes longer to arrive (10s)."),
    max_header_bytes: int | None = typer.Option(
        None, "--max-header-bytes", envvar="CORRAL_MAX_HEADER_BYTES", min=1024,
        help="Request line and headers over this many bytes: 431 (32768)."),
    max_headers: int | None = typer.Option(
        None, "--max-headers", envvar="CORRAL_MAX_HEADERS", min=1,
        help="Requests with more header fields: 431 (100)."),
    max_connections: int | None = typer.Option(
        None, "--max-connections", envvar="CORRAL_MAX_CONNECTIONS", min=1,
        help="Open connections; past it the longest idle is closed (1000, kept below "
             "the open-files limit)."),
) -> None:
    """Serve the HTTP API at /api/v1 (OpenAPI at /openapi.json) and the web UI at /."""
    import uvicorn  # here, not at the top: `corral worker` should not load a web stack

    from corral.cli import processes as serving
    from corral.http import background

    options = serving.ServeOptions(
        app=app, db=db, tokens_file=tokens_file, log_level=log_level,
        limits=_limits(keep_alive_timeout, header_timeout, max_header_bytes, max_headers,
                       max_connections))
    logging.basicConfig(level=log_level.upper(), format=serving.LOG_FORMAT)
    corral_app, api = serving.build(options)  # ConfigError: exit 2, before anything binds
    tokens = api.state.tokens
    if not tokens.required:
        if not is_loopback(host):
            raise errors.ConfigError(
                f"refusing to serve on {host} without a token: set CORRAL_ADMIN_TOKEN")
        logger.warning("no CORRAL_ADMIN_TOKEN set: the API is open, bound to %s only", host)
    sock = background.listening_socket(host, port)
    if tokens.required:
        logger.info("tokens: %s", ", ".join(f"{one.name} ({one.role})" for one in tokens.named))
    worker = None
    if with_worker:
        names = tuple(q.strip() for q in queues.split(",") if q.strip())
        worker = Worker(corral_app, queues=names, concurrency=concurrency)
        worker.start()
    bound_host, bound_port = sock.getsockname()[:2]
    logger.info("serving the web UI at http://%s:%d/ and the API at /api/v1%s",
                bound_host, bound_port, f" ({processes} processes)" if processes > 1 else "")
    try:
        if processes > 1:
            serving.run(options, sock, processes)
        else:
            serving.ready_to_serve()
            uvicorn.Server(background.server_config(api, log_level=log_level.lower(),
                                                    limits=options.limits)).run(sockets=[sock])
    finally:
        if worker is not None:
            worker.stop(timeout=corral_app.settings.shutdown_grace)


def _duration(value: str | None, default: float, name: str) -> float:
    return default if value is None else config.parse_duration(value, name=name)


def _limits(keep_alive_timeout: str | None, header_timeout: str | None,
            max_header_bytes: int | None, max_headers: int | None,
            max_connections: int | None) -> Limits:
    """The server's limits: the flags (or their CORRAL_* variables) over the defaults;
    durations in any DESIGN §11 form (``500ms``, ``5s``)."""
    from corral.http.connections import Limits

    default = Limits()
    return Limits(
        keep_alive_timeout=_duration(keep_alive_timeout, default.keep_alive_timeout,
                                     "keep_alive_timeout"),
        header_timeout=_duration(header_timeout, default.header_timeout, "header_timeout"),
        max_header_bytes=max_header_bytes or default.max_header_bytes,
        max_headers=max_headers or default.max_headers,
        max_connections=max_connections or default.max_connections)
