"""Every error as ``{"error", "message", **context}`` with DESIGN §8's status codes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corral import errors

logger = logging.getLogger("corral.http")
MAX_BODY = 16 * 1024 * 1024  # bytes; a batch of 10,000 jobs fits

STATUS: dict[type[errors.CorralError], int] = {
    errors.JobNotFound: 404,
    errors.InvalidJobId: 422,
    errors.AmbiguousId: 409,
    errors.BatchNotFound: 404,
    errors.JobAlreadyFinished: 409,
    errors.JobNotRestartable: 409,
    errors.JobNotScheduled: 409,
    errors.JobActive: 409,
    errors.UnknownTask: 422,
    errors.InvalidArguments: 422,
    errors.ConfigError: 422,
    errors.StoreError: 503,
}
HTTP_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
              405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}


class Problem(Exception):
    """An error response raised from anywhere in a request."""

    def __init__(self, status: int, error: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.context = status, error, message, context


def problem(code: int, error: str, message: str, context: dict[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The error body; ``context`` fields (job_id, status...) sit beside error and message."""
    return JSONResponse({"error": error, "message": message, **(context or {})},
                        status_code=code, headers=headers)


def _status_of(exc: errors.CorralError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def _plain(value: Any) -> bool:
    """A context field the body can carry: a scalar, or a list of strings (the
    ``candidates`` of ``AmbiguousId``)."""
    return isinstance(value, str | int | float | bool | None) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value))


def install_problem_handlers(api: FastAPI) -> None:
    @api.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.error, exc.message, exc.context)

    @api.exception_handler(errors.CorralError)
    async def on_corral_error(request: Request, exc: errors.CorralError) -> JSONResponse:
        context = {k: v for k, v in exc.context.items() if _plain(v)}
        return problem(_status_of(exc), type(exc).__name__, exc.message, context)

    @api.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        return problem(422, "ValidationError", f"{'.'.join(first['loc'])}: {first['msg']}",
                       {"details": details})

    @api.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        # its headers kept: a host app's login may answer 401 with WWW-Authenticate
        return problem(exc.status_code, HTTP_NAMES.get(exc.status_code, "HTTPError"),
                       str(exc.detail), headers=exc.headers)

    @api.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "InternalError", "unexpected server error (logged)")


class BodyLimit:
    """Refuses request bodies over ``MAX_BODY`` bytes with a 413: at once when the
    Content-Length says so; a chunked body (no length to go by) is read first, up to the
    limit, and handed on whole only if it fits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _too_large()(scope, receive, send)
            return
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            await self.app(scope, receive, send)
            return
        body = await _read_up_to(receive, MAX_BODY)
        if body is None:
            await _too_large()(scope, receive, send)
            return
        whole: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)


async def _read_up_to(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


_TOO_LARGE = f"request bodies are limited to {MAX_BODY} bytes"


def _too_large() -> JSONResponse:
    return problem(413, "PayloadTooLarge", _TOO_LARGE)
