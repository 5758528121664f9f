"""The README's recipe for a plain Starlette app ("Inside your app"): ``embedded`` mounted
by hand, its lifespan entered in the host's, the host's authentication middleware in front.
Served by a real uvicorn so the live feed is the real one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import Depends, HTTPException, Request
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import corral
from corral.contrib.fastapi import embedded
from corral.http import background
from tests.http.serving import sse_events


class KeyAuth(AuthenticationBackend):
    """The host's login: ``X-Key: alice-key`` is Alice, on the staff."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials,
                                                                 BaseUser] | None:
        if conn.headers.get("x-key") == "alice-key":
            return AuthCredentials(["staff"]), SimpleUser("alice")
        return None


def require_staff(request: Request) -> None:
    if "staff" not in request.auth.scopes:
        raise HTTPException(403, "staff only")


def build_host(app: corral.Corral) -> Starlette:
    # -- the recipe, as the README gives it --
    corral_api = embedded(app, dependencies=[Depends(require_staff)],
                          actor=lambda request: request.user.display_name)

    @contextlib.asynccontextmanager
    async def lifespan(host: Starlette) -> AsyncIterator[None]:
        async with corral_api.router.lifespan_context(corral_api):  # live feed (+ worker)
            yield

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("the host's home")

    return Starlette(routes=[Route("/", home), Mount("/ops/jobs", app=corral_api)],
                     middleware=[Middleware(AuthenticationMiddleware, backend=KeyAuth())],
                     lifespan=lifespan)


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[str, corral.Corral]]:
    app = corral.Corral(db_url)

    @app.task(name="nothing", queue="held")  # no worker serves it: the test moves it
    def nothing() -> None:
        return None

    with background.serving(build_host(app)) as root:
        yield root, app
    app.close()


def test_a_starlette_host_serves_corral_behind_its_login_with_the_live_feed(
        served: tuple[str, corral.Corral]) -> None:
    root, app = served
    alice = {"x-key": "alice-key"}
    assert httpx.get(f"{root}/").text == "the host's home"
    assert httpx.get(f"{root}/ops/jobs/api/v1/jobs").status_code == 403
    job = httpx.post(f"{root}/ops/jobs/api/v1/jobs", json={"task": "nothing"},
                     headers=alice).json()
    with httpx.Client(headers=alice, timeout=30) as client, client.stream(
            "GET", f"{root}/ops/jobs/api/v1/jobs/{job['id']}/stream") as stream:
        events = sse_events(stream)
        assert next(events)[1]["status"] == "queued"  # the job as it is: now watching
        cancelled = client.post(f"{root}/ops/jobs/api/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["cancelled_by"] == "alice"
        told = [data["status"] for event, data in events if event != "ping"]
    assert told[-1] == "cancelled"
