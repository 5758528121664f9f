"""Every error as ``{"error", "message", **context}`` with DESIGN §8's status codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from corral import errors

logger = logging.getLogger("corral.http")
MAX_BODY = 16 * 1024 * 1024  # bytes; a batch of 10,000 jobs fits

STATUS: dict[type[errors.CorralError], int] = {
    errors.JobNotFound: 404,
    errors.BatchNotFound: 404,
    errors.JobAlreadyFinished: 409,
    errors.JobNotRestartable: 409,
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
            ) -> JSONResponse:
    """The error body; ``context`` fields (job_id, status...) sit beside error and message."""
    return JSONResponse({"error": error, "message": message, **(context or {})},
                        status_code=code)


def _status_of(exc: errors.CorralError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def install_problem_handlers(api: FastAPI) -> None:
    @api.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.error, exc.message, exc.context)

    @api.exception_handler(errors.CorralError)
    async def on_corral_error(request: Request, exc: errors.CorralError) -> JSONResponse:
        context = {k: v for k, v in exc.context.items()
                   if isinstance(v, str | int | float | bool | None)}
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
        return problem(exc.status_code, HTTP_NAMES.get(exc.status_code, "HTTPError"),
                       str(exc.detail))

    @api.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "InternalError", "unexpected server error (logged)")


async def limit_body_size(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Refuses bodies over MAX_BODY before reading them (by Content-Length)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return problem(413, "PayloadTooLarge", f"request bodies are limited to {MAX_BODY} bytes")
    return await call_next(request)
