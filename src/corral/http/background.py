"""The API served from a thread of the calling process (``corral demo``, tests): the caller
keeps its main thread for its own work and stops the server when done."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from corral import errors

STREAMS_GRACE = 2  # seconds open event streams get when the server stops
START_TIMEOUT = 30.0


@contextlib.contextmanager
def serving(api: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``api`` (port 0: any free port) while the block runs; yields its root URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise errors.ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=STREAMS_GRACE))
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
