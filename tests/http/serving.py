"""A real server for an app, in a thread of the test process: streams need a real
connection (the test client buffers whole responses), and in-process the tests can look
at the server's threads and its live hub."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI

from corral.http import background
from tests.waiting import wait_until


@contextlib.contextmanager
def serving(api: FastAPI) -> Iterator[str]:
    """Serve ``api`` on a free loopback port; yields the base URL of the API."""
    with background.serving(api) as root:
        yield f"{root}/api/v1"


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, decoded data) of a text/event-stream response, as they arrive."""
    event, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def wait_answering(process: subprocess.Popen[Any], api: str) -> None:
    """Wait until the ``corral serve`` ``process`` answers ``{api}/healthz`` (``api`` is
    the base URL of the API), or has exited (the caller then reads why)."""

    def up() -> bool:
        try:
            return httpx.get(f"{api}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    wait_until(up, timeout=30, message="the server to answer")
