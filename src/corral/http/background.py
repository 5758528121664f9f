"""The API served from a thread of the calling process (``corral demo``, tests): the caller
keeps its main thread for its own work and stops the server when done."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from corral import errors
from corral.http import connections, serverlog

STREAMS_GRACE = 2  # seconds open event streams get when the server stops
START_TIMEOUT = 30.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port); a port in use is a ConfigError
    (one line and exit 2 from the CLI), not a traceback or uvicorn's exit code 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = connections.Listener(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise errors.ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def server_config(api: FastAPI, *, log_level: str,
                  limits: connections.Limits | None = None) -> uvicorn.Config:
    """uvicorn's config for ``api``, with corral's protocol (connections.Limits: timeouts,
    head size, connection cap) and log filters (serverlog: no tokens, no query strings, no
    floods; installed here, after uvicorn has set up its loggers)."""
    config = uvicorn.Config(api, http=connections.protocol_for(limits or connections.Limits()),
                            **settings(log_level=log_level))
    hide_tokens(api)
    return config


def settings(*, log_level: str) -> dict[str, Any]:
    """uvicorn settings of every corral server. Open event streams never end by
    themselves: on shutdown they get STREAMS_GRACE seconds, then are closed (clients
    reconnect) rather than waited for forever."""
    return {"log_level": log_level, "lifespan": "on",
            "timeout_graceful_shutdown": STREAMS_GRACE}


def hide_tokens(api: FastAPI) -> None:
    """The server log's filters (serverlog), with the secrets of ``api``'s tokens."""
    tokens = getattr(api.state, "tokens", None)
    serverlog.install(tokens.secrets if tokens is not None else ())


@contextlib.contextmanager
def serving(api: FastAPI, host: str = "127.0.0.1", port: int = 0,
            limits: connections.Limits | None = None) -> Iterator[str]:
    """Serve ``api`` (port 0: any free port) while the block runs; yields its root URL."""
    sock = listening_socket(host, port)
    server = uvicorn.Server(server_config(api, log_level="warning", limits=limits))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="corral-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError("the HTTP server did not start")
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(STREAMS_GRACE + 10)
        sock.close()
