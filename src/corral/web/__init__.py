"""The web UI (DESIGN §10): plain HTML, CSS and ES modules over the HTTP API, no build step.

The shell (``/`` and ``/static/...``) needs no token: it holds no data. The page asks for
the token once, keeps it in ``sessionStorage`` and sends it as ``Authorization: Bearer`` on
every API call, including the live feed (read with ``fetch``, since ``EventSource`` cannot
send headers). Tokens never go into URLs.

Mounted in a host app (``corral.contrib.fastapi``), the host's own login guards the shell
and the API, and the browser sends the host's cookie by itself: the page is told (``<html
data-auth="host">``) so it never offers corral's token dialog. Every URL in the page is
relative, so it works under any prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI, params
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
HTML_TAG = '<html lang="en">'


def shell(*, token_dialog: bool) -> bytes:
    """``index.html``, marked ``data-auth="host"`` when a host app's login guards it."""
    page = (STATIC / "index.html").read_text("utf-8")
    if not token_dialog:
        page = page.replace(HTML_TAG, '<html lang="en" data-auth="host">', 1)
    return page.encode()


def mount(api: FastAPI, guards: Sequence[params.Depends] = (), *,
          token_dialog: bool = True) -> None:
    """Serve the dashboard at ``/`` (behind ``guards``) and its files under ``/static``
    (code, no data: open)."""
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    page = shell(token_dialog=token_dialog)

    @api.get("/", include_in_schema=False, dependencies=list(guards))
    def index() -> HTMLResponse:
        # no-cache: a new version of the UI is picked up on the next load
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
