"""Short ids over HTTP, on both stores: ``GET /jobs/{id}`` and every ``/jobs/{id}/...``
route take the full id, the short id and any unique prefix or suffix of 6+ digits; an
ambiguous one is a 409 ``AmbiguousId`` with its candidates, a bad one a 422."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

import corral
from corral import ids
from corral.http import create_app
from tests.http.serving import serving
from tests.test_short_ids import same_millisecond


@pytest.fixture
def client(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def test_every_form_of_an_id_reads_the_job(app: corral.Corral, client: TestClient) -> None:
    job, _ = same_millisecond(app.store, 2)
    digits = job.id.replace("-", "")
    for given in (job.id, ids.short(job.id), digits[:20], job.id[:23], digits[-8:]):
        response = client.get(f"/api/v1/jobs/{given}")
        assert response.status_code == 200, (given, response.text)
        assert response.json()["id"] == job.id
        events = client.get(f"/api/v1/jobs/{given}/events")
        assert [e["kind"] for e in events.json()] == ["enqueued"]
        poll = client.get(f"/api/v1/jobs/{given}/poll", params={"timeout": 0})
        assert poll.json()["id"] == job.id


def test_actions_take_the_short_id(app: corral.Corral, client: TestClient) -> None:
    job = client.post("/api/v1/jobs", json={"task": "noop"}).json()
    short = ids.short(job["id"])
    assert client.post(f"/api/v1/jobs/{short}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/api/v1/jobs/{short}/restart").json()["status"] == "queued"
    client.post(f"/api/v1/jobs/{short[-6:]}/cancel")
    assert client.delete(f"/api/v1/jobs/{short}").status_code == 204
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404


def test_an_ambiguous_id_is_a_409_with_the_candidates(app: corral.Corral,
                                                      client: TestClient) -> None:
    jobs = same_millisecond(app.store, 2)
    for path in ("", "/events", "/cancel"):
        method = client.post if path == "/cancel" else client.get
        response = method(f"/api/v1/jobs/{jobs[0].id[:13]}{path}")
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"] == "AmbiguousId"
        assert sorted(body["candidates"]) == sorted(job.id for job in jobs)
        assert all(ids.short(job.id) in body["message"] for job in jobs)
    assert {j["status"] for j in client.get("/api/v1/jobs").json()["jobs"]} == {"queued"}


@pytest.mark.parametrize("given", ["3d29f", "xyz1234567", "not-an-id"])
def test_too_short_or_not_hex_is_a_422(app: corral.Corral, client: TestClient,
                                       given: str) -> None:
    same_millisecond(app.store, 1)
    for response in (client.get(f"/api/v1/jobs/{given}"),
                     client.post(f"/api/v1/jobs/{given}/cancel"),
                     client.delete(f"/api/v1/jobs/{given}")):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InvalidJobId"


def test_a_well_formed_unknown_id_is_a_404(client: TestClient) -> None:
    for given in ("0123456789ab", "01234567-89ab-7def-8123-456789abcdef"):
        response = client.get(f"/api/v1/jobs/{given}")
        assert response.status_code == 404 and response.json()["error"] == "JobNotFound"


def test_the_stream_of_a_job_named_by_its_short_id(app: corral.Corral,
                                                   tasks: SimpleNamespace) -> None:
    job = app.enqueue(tasks.noop.s()).job
    app.cancel(job.id)
    with serving(create_app(app)) as base, \
            httpx.stream("GET", f"{base}/jobs/{ids.short(job.id)}/stream", timeout=10) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert "job_complete" in text and job.id in text
