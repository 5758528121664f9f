"""``/openapi.json`` and ``/docs`` (Swagger UI) behind the same token check as every other
GET: the schema maps every route and field of the API, which is no business of someone
without a token. With no token configured (loopback only) they stay open, like the rest.

FastAPI's own versions of the two routes take no dependencies, so the app is built
without them and these take their place. The Swagger page loads its script and styles
from FastAPI's CDN and runs one inline script, so it gets a policy of its own: that
script by hash, the CDN, and this origin for the schema.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

from fastapi import FastAPI, Request, params
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
CDN = "https://cdn.jsdelivr.net"
ICON = "https://fastapi.tiangolo.com"  # get_swagger_ui_html's default favicon
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: bytes) -> str:
    """The Content-Security-Policy that lets ``page`` (Swagger UI) run and nothing else:
    its inline scripts by their sha256, the CDN; Swagger UI sets inline styles."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page))
    return (f"default-src 'none'; script-src {CDN} {hashes}; style-src {CDN} 'unsafe-inline'; "
            f"img-src 'self' data: {ICON}; connect-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def mount(api: FastAPI, guards: Sequence[params.Depends]) -> None:
    """The schema and its page on ``api``, each guarded by ``guards`` (the token check,
    or a host app's own dependencies)."""
    guarded = list(guards)

    @api.get(OPENAPI_URL, include_in_schema=False, dependencies=guarded)
    async def openapi() -> JSONResponse:
        return JSONResponse(api.openapi())

    @api.get(DOCS_URL, include_in_schema=False, dependencies=guarded)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root_path = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(openapi_url=root_path + OPENAPI_URL,
                                   title=f"{api.title} - Swagger UI")
        return HTMLResponse(page.body, headers={
            "Content-Security-Policy": docs_policy(bytes(page.body))})
