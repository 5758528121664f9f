"""Issue 14, item 7: security headers on the API and the UI, ``/openapi.json`` and
``/docs`` guarded like every other GET, and HEAD answered on every GET route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import corral
from corral.http import background, create_app
from corral.http.hardening import API_POLICY, UI_POLICY
from tests import workerapp

ADMIN, READ = "admin-secret", "read-secret"
BY_READ = {"Authorization": f"Bearer {READ}"}


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[corral.Corral]:
    client = corral.Corral(f"sqlite:///{tmp_path / 'corral.db'}")
    workerapp.register(client)
    yield client
    client.close()


@pytest.fixture
def guarded(sqlite_app: corral.Corral) -> Iterator[str]:
    """A real server with both tokens; yields its root URL."""
    with background.serving(create_app(sqlite_app, admin_token=ADMIN,
                                       read_token=READ)) as root:
        yield root


@pytest.fixture
def open_server(sqlite_app: corral.Corral) -> Iterator[str]:
    with background.serving(create_app(sqlite_app)) as root:
        yield root


def assert_hardened(response: httpx.Response, policy: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == policy
    assert "frame-ancestors 'none'" in policy


def test_api_answers_carry_the_hardening_headers(guarded: str) -> None:
    for response in (httpx.get(f"{guarded}/api/v1/stats", headers=BY_READ),
                     httpx.get(f"{guarded}/api/v1/healthz"),
                     httpx.get(f"{guarded}/api/v1/jobs"),  # 401
                     httpx.get(f"{guarded}/api/v1/jobs/0123456789ab", headers=BY_READ)):  # 404
        assert_hardened(response, API_POLICY)


def test_the_ui_and_its_files_carry_a_same_origin_policy(guarded: str) -> None:
    index = httpx.get(f"{guarded}/")
    assert index.status_code == 200
    assert_hardened(index, UI_POLICY)
    # the policy allows no inline script or style: the page must have none
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index.text)
    assert "<style" not in index.text and "style=" not in index.text
    for path in ("/static/style.css", "/static/js/app.js"):
        response = httpx.get(f"{guarded}{path}")
        assert response.status_code == 200
        assert_hardened(response, UI_POLICY)


def test_openapi_and_docs_need_a_token_when_tokens_are_set(guarded: str) -> None:
    for path in ("/openapi.json", "/docs"):
        assert httpx.get(f"{guarded}{path}").status_code == 401
        assert httpx.get(f"{guarded}{path}", headers={"X-Admin-Token": "wrong"}
                         ).status_code == 403
        assert httpx.get(f"{guarded}{path}", headers=BY_READ).status_code == 200
    schema = httpx.get(f"{guarded}/openapi.json", headers=BY_READ).json()
    assert "/api/v1/jobs/{job_id}/cancel" in schema["paths"]
    docs = httpx.get(f"{guarded}/docs", headers=BY_READ)
    assert "swagger-ui" in docs.text
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in docs.headers[
        "content-security-policy"]


def test_openapi_and_docs_stay_open_without_tokens(open_server: str) -> None:
    assert httpx.get(f"{open_server}/openapi.json").status_code == 200
    assert httpx.get(f"{open_server}/docs").status_code == 200


def get_routes(root: str, headers: dict[str, str]) -> list[str]:
    """Every GET path the app publishes, with a real job and batch id filled in."""
    job = httpx.post(f"{root}/api/v1/jobs", json={"task": "noop"},
                     headers={"Authorization": f"Bearer {ADMIN}"} if headers else {}).json()
    batch = httpx.post(f"{root}/api/v1/batches", json={"jobs": [{"task": "noop"}]},
                       headers={"Authorization": f"Bearer {ADMIN}"} if headers else {}).json()
    schema = httpx.get(f"{root}/openapi.json", headers=headers).json()
    paths = [path.replace("{job_id}", job["id"]).replace("{batch_id}", batch["batch"]["id"])
             for path, operations in schema["paths"].items() if "get" in operations]
    return [*paths, "/", "/static/style.css", "/openapi.json", "/docs"]


def test_head_answers_every_get_route_with_headers_and_no_body(guarded: str) -> None:
    routes = get_routes(guarded, BY_READ)
    assert len(routes) >= 15
    with httpx.Client(timeout=10) as client:
        for path in routes:
            url = f"{guarded}{path}" + ("?timeout=0" if path.endswith("/poll") else "")
            head = client.head(url, headers=BY_READ)
            assert head.status_code == 200, (path, head.status_code)
            assert head.content == b"", path
            assert head.headers["x-content-type-options"] == "nosniff"
            if not path.endswith(("/stream", "/poll", "/metrics", "/stats")):
                get = client.get(url, headers=BY_READ)
                assert head.headers.get("content-type") == get.headers.get("content-type")
        # without a token: refused, still without a body; the open routes stay open
        for path in routes:
            head = client.head(f"{guarded}{path}")
            expected = 200 if path in ("/api/v1/healthz", "/", "/static/style.css") else 401
            assert (head.status_code, head.content) == (expected, b""), path
        assert client.get(f"{guarded}/api/v1/healthz").status_code == 200  # still serving


def test_head_on_a_route_without_get_is_still_refused(open_server: str) -> None:
    assert httpx.head(f"{open_server}/api/v1/jobs/x/cancel").status_code == 405


def test_the_ui_keeps_its_policy_when_the_app_is_mounted_under_a_prefix(
        sqlite_app: corral.Corral) -> None:
    host = FastAPI()
    host.mount("/jobs-admin", create_app(sqlite_app))
    with TestClient(host) as client:
        assert client.get("/jobs-admin/").headers["content-security-policy"] == UI_POLICY
        assert client.get("/jobs-admin/api/v1/healthz").headers[
            "content-security-policy"] == API_POLICY
