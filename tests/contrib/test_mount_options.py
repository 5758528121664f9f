"""``corral.contrib.fastapi.mount``'s options, in process (the served host is in
test_fastapi_mount.py): who guards corral's routes, the host's exception handlers and
dependency overrides, a host lifespan of the old style, a bad prefix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient

import corral
import corral.testing
from corral.contrib.fastapi import mount


class LoginRequired(Exception):
    """The host's own: its handler sends a browser to the login page."""


def require_login(request: Request) -> None:
    if request.headers.get("x-user") != "carol":
        raise LoginRequired
    request.state.user = "carol"


def host_app() -> FastAPI:
    api = FastAPI()

    @api.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    return api


@pytest.fixture
def app(tmp_path: Path) -> Iterator[corral.Corral]:
    made = corral.Corral(f"sqlite:///{tmp_path / 'corral.db'}")

    @made.task(name="nothing")
    def nothing() -> None:
        return None

    yield made
    made.close()


def test_without_the_host_s_dependencies_or_a_token_mount_refuses(app: corral.Corral) -> None:
    with pytest.raises(corral.ConfigError, match="CORRAL_ADMIN_TOKEN"):
        mount(FastAPI(), app)


def test_an_empty_dependency_list_leaves_corral_open_on_purpose(app: corral.Corral) -> None:
    api = FastAPI()
    mount(api, app, prefix="/jobs", dependencies=[])
    with TestClient(api) as client:
        answer = client.post("/jobs/api/v1/jobs", json={"task": "nothing"})
        assert answer.status_code == 201
        assert answer.json()["status"] == "queued"


def test_corral_s_own_tokens_guard_it_when_the_host_gives_no_dependencies(
        tmp_path: Path) -> None:
    app = corral.Corral(f"sqlite:///{tmp_path / 'corral.db'}", admin_token="s3cret")
    api = FastAPI()
    mount(api, app, prefix="/corral")
    with TestClient(api) as client:
        assert client.get("/corral/api/v1/jobs").status_code == 401
        ok = client.get("/corral/api/v1/jobs", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        shell = client.get("/corral/")  # holds no data: open, and it offers the token dialog
        assert shell.status_code == 200 and "data-auth" not in shell.text
    app.close()


def test_the_host_s_exception_handlers_answer_on_corral_s_routes(app: corral.Corral) -> None:
    api = host_app()
    mount(api, app, prefix="/ops", dependencies=[Depends(require_login)],
          actor=lambda request: f"staff:{request.state.user}")
    with TestClient(api, follow_redirects=False) as client:
        sent = client.get("/ops/")
        assert sent.status_code == 303 and sent.headers["location"] == "/login"
        job = client.post("/ops/api/v1/jobs", json={"task": "nothing"},
                          headers={"x-user": "carol"}).json()
        cancelled = client.post(f"/ops/api/v1/jobs/{job['id']}/cancel",
                                headers={"x-user": "carol"}).json()
        assert cancelled["status"] == "cancelled" and cancelled["cancelled_by"] == "staff:carol"
        # a corral error keeps corral's body
        missing = client.get("/ops/api/v1/jobs/0123456789abcdef", headers={"x-user": "carol"})
        assert missing.status_code in (404, 422) and set(missing.json()) >= {"error", "message"}


def test_the_host_s_dependency_overrides_reach_corral_s_routes(app: corral.Corral) -> None:
    api = host_app()
    mount(api, app, prefix="/ops", dependencies=[Depends(require_login)])

    def fake_login(request: Request) -> None:  # as the host's own tests log a user in
        request.state.user = "test-user"

    api.dependency_overrides[require_login] = fake_login
    with TestClient(api) as client:
        assert client.get("/ops/api/v1/jobs").status_code == 200


def test_a_host_with_startup_handlers_keeps_them(app: corral.Corral) -> None:
    api = FastAPI()
    started: list[str] = []
    api.router.on_startup.append(lambda: started.append("host"))
    mount(api, app, prefix="/ops", dependencies=[])
    with TestClient(api) as client:
        assert started == ["host"]
        assert client.get("/ops/api/v1/healthz").json()["status"] == "ok"


@pytest.mark.parametrize("prefix", ["ops", "/ops/", ""])
def test_a_prefix_must_be_a_path_without_a_trailing_slash(app: corral.Corral,
                                                          prefix: str) -> None:
    with pytest.raises(corral.ConfigError, match="prefix"):
        mount(FastAPI(), app, prefix=prefix, dependencies=[])


def test_mounting_opens_no_database_and_follows_the_app_to_another_store(
        tmp_path: Path) -> None:
    """A host mounts corral at import; importing its module (a test run's collection, a
    management command) must not create a database file where it happens to run. And its
    metrics read the app's store of the moment: a test's ``corral.testing.isolated``."""
    stores = tmp_path / "stores"
    stores.mkdir()
    own, isolated = stores / "own.db", stores / "isolated.db"
    app = corral.Corral(f"sqlite:///{own}")

    @app.task(name="nothing")
    def nothing() -> None:
        return None

    api = FastAPI()
    mount(api, app, dependencies=[])
    assert list(stores.iterdir()) == []
    with corral.testing.isolated(app, f"sqlite:///{isolated}"), TestClient(api) as client:
        nothing.enqueue()
        scraped = client.get("/corral/api/v1/metrics").text
        assert 'corral_jobs{queue="default",status="queued"} 1.0' in scraped, scraped
    assert not own.exists()
    app.close()
