"""The HTTP API on both stores, through FastAPI's test client: every route's happy path,
the typed error bodies of DESIGN §8, and the auth matrix over every route the app has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import corral
from corral.http import create_app
from corral.http.problems import MAX_BODY
from tests.http.serving import serving
from tests.waiting import wait_until

ADMIN, READ = "admin-secret", "read-secret"


@pytest.fixture
def client(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def enqueue(client: TestClient, **body: object) -> dict:
    response = client.post("/api/v1/jobs", json={"task": "noop", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_enqueue_read_and_list_with_a_cursor(client: TestClient) -> None:
    ids = [enqueue(client, args=[i], queue="q1")["id"] for i in range(5)]
    job = client.get(f"/api/v1/jobs/{ids[0]}").json()
    assert job["status"] == "queued" and job["args"] == [0] and job["queue"] == "q1"
    first = client.get("/api/v1/jobs", params={"limit": 3, "queue": "q1"}).json()
    assert [j["id"] for j in first["jobs"]] == ids[::-1][:3] and first["next_cursor"]
    rest = client.get("/api/v1/jobs", params={"limit": 3, "cursor": first["next_cursor"]})
    assert [j["id"] for j in rest.json()["jobs"]] == ids[::-1][3:]
    assert rest.json()["next_cursor"] is None
    events = client.get(f"/api/v1/jobs/{ids[0]}/events").json()
    assert [e["kind"] for e in events] == ["enqueued"]


def test_cancel_restart_delete_and_their_conflicts(client: TestClient) -> None:
    job_id = enqueue(client)["id"]
    delete = client.delete(f"/api/v1/jobs/{job_id}")
    assert delete.status_code == 409 and delete.json()["error"] == "JobActive"
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel", json={"reason": "test"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert again.json() | {"message": ""} == {"error": "JobAlreadyFinished", "message": "",
                                             "job_id": job_id, "status": "cancelled"}
    assert client.post(f"/api/v1/jobs/{job_id}/restart").json()["status"] == "queued"
    client.post(f"/api/v1/jobs/{job_id}/cancel", json={"force": True})
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    missing = client.get(f"/api/v1/jobs/{job_id}")
    assert missing.status_code == 404 and missing.json()["error"] == "JobNotFound"


@pytest.mark.parametrize(("body", "error"), [
    ({"task": "nope"}, "UnknownTask"),
    ({"task": "noop", "surprise": 1}, "ValidationError"),
    ({"task": "noop", "args": "not a list"}, "ValidationError"),
    ({"task": "noop", "delay": -1}, "ValidationError"),
    ({"task": "noop", "queue": ""}, "ValidationError"),
    ({"task": "noop", "run_at": "2026-01-01T00:00:00", "delay": 3}, "ConfigError"),
])
def test_bad_enqueues_are_typed_422s(client: TestClient, body: dict, error: str) -> None:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 422 and response.json()["error"] == error
    assert response.json()["message"]


def test_malformed_json_and_oversized_bodies_are_4xx(client: TestClient) -> None:
    bad = client.post("/api/v1/jobs", content=b"{nope", headers={"content-type":
                                                                 "application/json"})
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"
    huge = client.post("/api/v1/jobs", content=b"{}", headers={
        "content-type": "application/json", "content-length": str(10**9)})
    assert huge.status_code == 413 and huge.json()["error"] == "PayloadTooLarge"


def test_bulk_cancel_with_dry_run_then_for_real(client: TestClient) -> None:
    ids = sorted(enqueue(client, queue="bulk")["id"] for _ in range(3))
    preview = client.post("/api/v1/jobs/cancel", json={"queue": "bulk", "dry_run": True})
    assert preview.json()["dry_run"] and sorted(preview.json()["job_ids"]) == ids
    done = client.post("/api/v1/jobs/cancel", json={"queue": "bulk", "reason": "r"}).json()
    assert done["count"] == 3 and sorted(done["job_ids"]) == ids
    refused = client.post("/api/v1/jobs/delete", json={"ids": ids + [enqueue(client)["id"]]})
    assert refused.json()["count"] == 3 and list(refused.json()["refused"].values()) == [
        "queued"]
    everything = client.post("/api/v1/jobs/cancel", json={})
    assert everything.status_code == 422 and everything.json()["error"] == "ConfigError"


def test_reset_stuck_validates_its_duration(client: TestClient) -> None:
    assert client.post("/api/v1/jobs/reset-stuck", params={"older_than": "1h"}).json() == {
        "reset_count": 0, "job_ids": [], "dry_run": False}
    bad = client.post("/api/v1/jobs/reset-stuck", params={"older_than": "3x"})
    assert bad.status_code == 422 and bad.json()["error"] == "ConfigError"


def test_batches_create_read_and_cancel(client: TestClient) -> None:
    created = client.post("/api/v1/batches", json={
        "name": "b", "jobs": [{"task": "noop", "args": [i]} for i in range(3)]})
    assert created.status_code == 201
    batch_id = created.json()["batch"]["id"]
    assert created.json()["batch"]["counts"]["queued"] == 3
    cancel = client.post(f"/api/v1/batches/{batch_id}/cancel", json={"reason": "x"}).json()
    assert cancel["status"] == "cancelled" and cancel["jobs_cancelled"] == 3
    again = client.post(f"/api/v1/batches/{batch_id}/cancel").json()
    assert again["status"] == "no_jobs_to_cancel" and again["jobs_cancelled"] == 0
    assert client.get(f"/api/v1/batches/{batch_id}").json()["state"] == "cancelled"
    missing = client.get("/api/v1/batches/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "BatchNotFound"


def test_batches_are_listed_newest_first_with_their_counts_a_page_at_a_time(
        client: TestClient) -> None:
    made = []
    for size in (1, 2, 3):
        created = client.post("/api/v1/batches", json={
            "name": f"b{size}", "jobs": [{"task": "noop", "args": [i]} for i in range(size)]})
        made.append(created.json()["batch"]["id"])
    client.post(f"/api/v1/batches/{made[1]}/cancel")
    first = client.get("/api/v1/batches", params={"limit": 2}).json()
    assert [b["id"] for b in first["batches"]] == [made[2], made[1]]
    assert first["next_cursor"] == made[1]
    newest, cancelled = first["batches"]
    assert (newest["name"], newest["total"], newest["counts"]["queued"]) == ("b3", 3, 3)
    assert (newest["state"], newest["progress"]) == ("queued", 0.0)
    assert (cancelled["counts"]["cancelled"], cancelled["state"]) == (2, "cancelled")
    assert cancelled["progress"] == 1.0
    rest = client.get("/api/v1/batches", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [b["id"] for b in rest.json()["batches"]] == [made[0]]
    assert rest.json()["next_cursor"] is None
    assert client.get("/api/v1/batches", params={"limit": 0}).status_code == 422


def test_queues_patch_and_list(client: TestClient) -> None:
    patched = client.patch("/api/v1/queues/imports", json={"concurrency": 1, "paused": True})
    assert patched.json() | {"queued": 0} == {"name": "imports", "concurrency": 1,
                                              "paused": True, "queued": 0, "scheduled": 0,
                                              "running": 0}
    assert client.patch("/api/v1/queues/imports", json={"unlimited": True}).json()[
        "concurrency"] is None
    assert client.patch("/api/v1/queues/imports", json={"concurrency": 0}).status_code == 422
    assert any(q["name"] == "imports" for q in client.get("/api/v1/queues").json())


def test_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/api/v1/healthz").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert "/api/v1/jobs/{job_id}/cancel" in schema["paths"]


def routes_to_probe(api: FastAPI) -> list[tuple[str, str]]:
    """Every operation the app publishes (its own OpenAPI), path parameters filled in."""
    return [(method.upper(), re.sub(r"\{[^}]+\}", "x", path))
            for path, operations in api.openapi()["paths"].items()
            if not path.endswith("/healthz") for method in operations]


def test_auth_matrix_over_every_route(app: corral.Corral, tasks: SimpleNamespace) -> None:
    """On a real server: streams answer with their status line and are then dropped."""
    api = create_app(app, admin_token=ADMIN, read_token=READ)
    probes = routes_to_probe(api)
    assert len(probes) >= 20
    with serving(api) as base, httpx.Client(base_url=base.removesuffix("/api/v1")) as client:
        for method, path in probes:
            def call(headers: dict[str, str], method: str = method, path: str = path) -> int:
                with client.stream(method, path, headers=headers, json={}) as response:
                    return response.status_code
            assert call({}) == 401, (method, path)
            assert call({"Authorization": "Bearer wrong"}) == 403, (method, path)
            read = call({"Authorization": f"Bearer {READ}"})
            assert read == 403 if method != "GET" else read not in (401, 403), (method, path)
            assert call({"X-Admin-Token": ADMIN}) not in (401, 403, 500), (method, path)
        assert client.get("/api/v1/healthz").status_code == 200  # no token needed


def test_long_poll_returns_on_change_or_after_its_timeout(
    client: TestClient, app: corral.Corral
) -> None:
    job_id = enqueue(client)["id"]
    unchanged = client.get(f"/api/v1/jobs/{job_id}/poll",
                           params={"current_status": "queued", "timeout": 0.1})
    assert unchanged.status_code == 200 and unchanged.json()["status"] == "queued"
    app.cancel(job_id)
    changed = client.get(f"/api/v1/jobs/{job_id}/poll",
                         params={"current_status": "queued", "timeout": 5})
    assert changed.json()["status"] == "cancelled"
    assert client.get("/api/v1/jobs/0123456789ab/poll").status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}/poll", params={"timeout": 999}).status_code \
        == 422


def test_stats_and_workers(client: TestClient, start_worker) -> None:
    enqueue(client, queue="reports")
    job_id = enqueue(client)["id"]
    client.post(f"/api/v1/jobs/{job_id}/cancel")
    stats = client.get("/api/v1/stats").json()
    assert stats["counts"]["queued"] == 1 and stats["counts"]["cancelled"] == 1
    assert stats["counts"]["running"] == 0 and stats["finished_last_minute"] == 1
    assert stats["queues"]["reports"]["queued"] == 1
    start_worker(queues="other")
    workers = client.get("/api/v1/workers").json()
    assert len(workers) == 1 and workers[0]["state"] == "running"
    assert workers[0]["queues"] == ["other"] and workers[0]["jobs"] == []
    # stats are at most half a second old
    wait_until(lambda: client.get("/api/v1/stats").json()["workers"]
               == {"alive": 1, "stopped": 0, "dead": 0},
               timeout=5, message="stats to count the worker")


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(client: TestClient) -> None:
    """No Content-Length to go by: the bytes are counted as they arrive."""
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"task": "noop", "args": ["'
        while sent <= MAX_BODY:
            sent += 1 << 20
            yield b"x" * (1 << 20)
        yield b'"]}'

    response = client.post("/api/v1/jobs", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    assert client.get("/api/v1/jobs").json()["jobs"] == []  # nothing was enqueued
