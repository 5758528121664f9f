"""The web UI (DESIGN §10): plain HTML, CSS and ES modules over the HTTP API, no build step.

The shell (``/`` and ``/static/...``) needs no token: it holds no data. The page asks for
the token once, keeps it in ``sessionStorage`` and sends it as ``Authorization: Bearer`` on
every API call, including the live feed (read with ``fetch``, since ``EventSource`` cannot
send headers). Tokens never go into URLs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(api: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its files under ``/static``."""
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # no-cache: a new version of the UI is picked up on the next load
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
