"""Routes added straight to the app under a prefix, with shared dependencies and error
responses: what ``APIRouter(prefix=..., dependencies=...)`` + ``include_router`` gives,
without the included router.

FastAPI (0.160+) keeps an included router as a layer of its own and matches each request
through it, scope bookkeeping per candidate route: on a cheap request (a cached
``/stats``) that layer was 40% of the server's time (bench/PROFILES.md, issue 20). Routes
added with ``api.api_route`` are matched once, in the app's own list, and carry the
same prefix, dependencies and documented responses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, params

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class FlatRouter:
    """``router.get("/jobs/{job_id}", ...)`` as on an ``APIRouter``; the route lands in
    ``api`` at ``prefix + path``, guarded by ``dependencies`` before its own."""

    def __init__(self, api: FastAPI, prefix: str, *,
                 dependencies: Sequence[params.Depends],
                 responses: dict[int | str, dict[str, Any]]) -> None:
        self.api = api
        self.prefix = prefix
        self.dependencies = list(dependencies)
        self.responses = responses

    def route(self, path: str, method: str, *,
              dependencies: Sequence[params.Depends] = (),
              responses: dict[int | str, dict[str, Any]] | None = None,
              **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.api.api_route(
            self.prefix + path, methods=[method],
            dependencies=[*self.dependencies, *dependencies],
            responses={**self.responses, **(responses or {})}, **options)

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, "GET", **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, "POST", **options)

    def patch(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, "PATCH", **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, "DELETE", **options)
