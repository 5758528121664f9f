"""Filters over HTTP on both stores (issue 15 items 4, 6, 7, 9): one status or a list,
meta labels and newer_than in bodies and query strings, the reset-stuck dry run, and
every route refusing a query parameter it does not declare, with nothing done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

import corral
from corral.http import create_app
from corral.status import JobStatus
from corral.store import Store
from tests.factories import make_job, register_worker

S = JobStatus
API = "/api/v1"
ADMIN = "admin-secret"


@pytest.fixture
def client(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def enqueue(client: TestClient, **body: object) -> str:
    response = client.post(f"{API}/jobs", json={"task": "noop", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def listed(client: TestClient, query: str | dict[str, str]) -> set[str]:
    response = (client.get(f"{API}/jobs?{query}") if isinstance(query, str)
                else client.get(f"{API}/jobs", params=query))
    assert response.status_code == 200, response.text
    return {job["id"] for job in response.json()["jobs"]}


def test_bulk_bodies_and_the_listing_take_one_status_or_a_list(
    client: TestClient, store: Store
) -> None:
    running = make_job(store, S.RUNNING, queue="crawl")
    crawl = [enqueue(client, queue="crawl") for _ in range(2)]
    elsewhere = enqueue(client, queue="other")

    assert listed(client, "status=running") == {running.id}
    assert listed(client, "status=queued,running&queue=crawl") == {*crawl, running.id}
    assert listed(client, "status=queued&status=running&queue=crawl") == {*crawl, running.id}

    one = client.post(f"{API}/jobs/cancel", json={"status": "running", "queue": "crawl"})
    assert one.status_code == 200, one.text  # was 422 "Input should be a valid list"
    assert one.json()["job_ids"] == [running.id]
    assert store.get_job(running.id).status == S.CANCELLING  # type: ignore[union-attr]

    many = client.post(f"{API}/jobs/cancel", json={"status": ["queued", "scheduled"],
                                                   "queue": "crawl", "dry_run": True})
    assert sorted(many.json()["job_ids"]) == sorted(crawl) and many.json()["dry_run"]
    deleted = client.post(f"{API}/jobs/delete", json={"status": "queued"})
    assert deleted.status_code == 200 and deleted.json()["count"] == 0  # active: refused
    assert set(deleted.json()["refused"]) == {*crawl, elsewhere}
    assert client.post(f"{API}/jobs/cancel", json={"status": "runing"}).status_code == 422
    assert client.get(f"{API}/jobs?status=queued,runing").status_code == 422


def test_meta_labels_find_and_cancel_by_the_callers_own_key(
    client: TestClient, app: corral.Corral
) -> None:
    number = enqueue(client, meta={"crawl_job_id": 5, "client": "Datadog"})
    text = enqueue(client, meta={"crawl_job_id": "5"})
    other = enqueue(client, meta={"crawl_job_id": 6, "client": "Datadog"})

    assert listed(client, "meta.crawl_job_id=5") == {number}
    assert listed(client, {"meta.crawl_job_id": '"5"'}) == {text}  # quoted: the string
    assert listed(client, "meta.client=Datadog") == {number, other}
    assert listed(client, "meta.client=Datadog&meta.crawl_job_id=6") == {other}
    assert listed(client, "meta.client=Nobody") == set()

    preview = client.post(f"{API}/jobs/cancel", json={"meta": {"crawl_job_id": 5},
                                                      "dry_run": True}).json()
    assert preview["job_ids"] == [number] and app.get_job(number).status == S.QUEUED
    done = client.post(f"{API}/jobs/cancel", json={"meta": {"crawl_job_id": 5},
                                                   "reason": "crawl 5"}).json()
    assert done["job_ids"] == [number]
    assert app.get_job(number).status == S.CANCELLED
    assert {app.get_job(text).status, app.get_job(other).status} == {S.QUEUED}
    restarted = client.post(f"{API}/jobs/restart", json={"meta": {"crawl_job_id": 5}})
    assert restarted.json()["job_ids"] == [number]

    for bad in ("meta.=5", "meta.crawl_job_id=1&meta.crawl_job_id=2"):
        refused = client.get(f"{API}/jobs?{bad}")
        assert refused.status_code == 422 and set(refused.json()) >= {"error", "message"}
    nested = client.post(f"{API}/jobs/cancel", json={"meta": {"crawl_job_id": [5]}})
    assert nested.status_code == 422 and nested.json()["error"] == "InvalidArguments"
    assert app.get_job(text).status == S.QUEUED


def test_newer_than_in_the_listing_and_bulk_bodies(client: TestClient) -> None:
    import time

    old = enqueue(client)
    time.sleep(0.6)
    new = enqueue(client)
    assert listed(client, "newer_than=0.3s") == {new}
    assert listed(client, "older_than=0.3s") == {old}
    result = client.post(f"{API}/jobs/cancel", json={"newer_than": "0.3s"}).json()
    assert result["job_ids"] == [new]
    bad = client.get(f"{API}/jobs?newer_than=soon")
    assert bad.status_code == 422 and "not a duration" in bad.json()["message"]


def test_reset_stuck_dry_run_lists_the_jobs_and_changes_nothing(
    client: TestClient, store: Store
) -> None:
    register_worker(store, "alive")
    on_live = make_job(store, S.RUNNING, worker="alive")
    on_dead = make_job(store, S.RUNNING, worker="dead", dead_worker=True, max_attempts=5)
    before = {job.id: (job.status, store.job_events(job.id)) for job in (on_live, on_dead)}

    response = client.post(f"{API}/jobs/reset-stuck",
                           params={"older_than": "0s", "dry_run": "true"})

    assert response.status_code == 200, response.text
    assert response.json() == {"reset_count": 2, "job_ids": [on_dead.id, on_live.id],
                               "dry_run": True, "failed": [on_dead.id],
                               "cancelled": [on_live.id]}
    for job_id, (status, trail) in before.items():
        assert store.get_job(job_id).status == status  # type: ignore[union-attr]
        assert store.job_events(job_id) == trail
    assert {w.id: w.state for w in store.list_workers()} == {"alive": "running",
                                                             "dead": "running"}


def probes(client: TestClient) -> list[tuple[str, str]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    return [(method.upper(), path) for path, operations in schema["paths"].items()
            for method in operations]


def test_every_route_refuses_an_unknown_query_parameter_and_does_nothing(
    client: TestClient, store: Store, app: corral.Corral, tasks: SimpleNamespace
) -> None:
    running = make_job(store, S.RUNNING)
    failed = make_job(store, S.FAILED)
    batch = app.batch([tasks.noop.s(1)])
    before = {job.id: (job.status, len(store.job_events(job.id)))
              for job in [running, failed, *batch.jobs]}
    routes = probes(client)
    assert len(routes) >= 20

    for method, path in routes:
        job = failed if path.endswith(("/restart", "/jobs/{job_id}")) else running
        url = (path.replace("{job_id}", job.id).replace("{batch_id}", batch.id)
               .replace("{name}", "default"))
        query = "older_than=0s&dry_runn=true" if "reset-stuck" in url else "dry_runn=true"
        response = client.request(method, f"{url}?{query}",
                                  json={} if method in ("POST", "PATCH") else None)
        assert response.status_code == 422, (method, path, response.text)
        body = response.json()
        assert body["error"] == "ValidationError" and "dry_runn" in body["message"], body
        assert body["parameter"] == "dry_runn"

    after = {job_id: (status, len(store.job_events(job_id)))
             for job_id, status in ((j.id, store.get_job(j.id).status)  # type: ignore[union-attr]
                                    for j in [running, failed, *batch.jobs])}
    assert after == before
    assert not any(queue.paused for queue in app.queues())
    # the exact case of the issue: a misspelt dry_run never runs the real action
    assert client.post(f"{API}/jobs/reset-stuck?older_than=0s&dry_runn=true").status_code == 422
    assert store.get_job(running.id).status == S.RUNNING  # type: ignore[union-attr]
    # meta.<key> is a filter of the listing only
    assert client.get(f"{API}/jobs/{running.id}?meta.crawl_job_id=5").status_code == 422
    assert client.post(f"{API}/jobs/cancel?meta.crawl_job_id=5",
                       json={"ids": [running.id]}).status_code == 422
    assert store.get_job(running.id).status == S.RUNNING  # type: ignore[union-attr]


def test_a_token_in_the_query_string_is_no_way_in(app: corral.Corral,
                                                  tasks: SimpleNamespace) -> None:
    with TestClient(create_app(app, admin_token=ADMIN)) as client:
        assert client.get(f"{API}/jobs?token={ADMIN}").status_code == 401  # auth first
        refused = client.get(f"{API}/jobs?token={ADMIN}", headers={"X-Admin-Token": ADMIN})
        assert refused.status_code == 422 and ADMIN not in refused.text  # names, no values
        assert re.search(r"query\.token: unknown", refused.json()["message"])
        assert client.get(f"{API}/healthz?probe=1").status_code == 422
