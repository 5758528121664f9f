"""A task's own ``limit_key`` (issue 15 item 5, DESIGN §3): a callable of the task's
arguments gives every job its key however it is enqueued (Python, HTTP by task name, the
CLI), a per-call or HTTP ``limit_key`` wins over it, a callable that fails refuses the
enqueue with nothing stored, and the key limit holds with real workers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

import corral
from corral import errors
from corral.http import create_app
from tests.cli.conftest import Run, one_error_line
from tests.test_limits import drained, max_overlap
from tests.waiting import wait_until

APP = ("--app", "tests.workerapp:app")
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def client(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def keys(app: corral.Corral) -> dict[str, tuple[str | None, int | None]]:
    return {job.id: (job.limit_key, job.key_limit) for job in app.list_jobs(limit=None)}


def test_the_task_limit_key_gives_every_job_its_key_however_it_is_enqueued(
    app: corral.Corral, tasks: SimpleNamespace, client: TestClient, corral_cli: Run,
) -> None:
    """Before: ``@app.task(limit_key=...)`` was a TypeError, and a job enqueued over HTTP
    by task name had no key unless the caller repeated it."""
    python = tasks.keyed.enqueue("7").id
    many = [h.id for h in app.enqueue_many([tasks.keyed.s("7", ms=5), tasks.keyed.s(user="8")])]
    batch = app.batch([tasks.keyed.s("9")]).jobs[0].id
    http = client.post("/api/v1/jobs", json={"task": "keyed", "args": ["7"]})
    assert http.status_code == 201, http.text
    assert (http.json()["limit_key"], http.json()["key_limit"]) == ("user-7", 2)
    http_batch = client.post("/api/v1/batches", json={
        "jobs": [{"task": "keyed", "kwargs": {"user": "8"}}]})
    assert http_batch.status_code == 201, http_batch.text
    cli = corral_cli("enqueue", *APP, "keyed", '["9"]', "--json")
    assert cli.returncode == 0, cli.stderr
    assert keys(app) == {
        python: ("user-7", 2), many[0]: ("user-7", 2), many[1]: ("user-8", 2),
        batch: ("user-9", 2), http.json()["id"]: ("user-7", 2),
        http_batch.json()["job_ids"][0]: ("user-8", 2), json.loads(cli.stdout)["id"]: ("user-9", 2),
    }


def test_a_per_call_or_http_limit_key_wins_over_the_task_one(
    app: corral.Corral, tasks: SimpleNamespace, client: TestClient,
) -> None:
    per_call = tasks.keyed.s("7").set(limit_key="vip", key_limit=5).enqueue().job
    assert (per_call.limit_key, per_call.key_limit) == ("vip", 5)
    http = client.post("/api/v1/jobs", json={"task": "keyed", "args": ["7"],
                                             "limit_key": "tenant-1"}).json()
    assert (http["limit_key"], http["key_limit"]) == ("tenant-1", 2)
    constant = app.task(name="constant_key", limit_key="shared-api", key_limit=1)(lambda: None)
    assert constant.enqueue().job.limit_key == "shared-api"


def test_a_limit_key_callable_that_fails_refuses_the_enqueue_and_stores_nothing(
    app: corral.Corral, tasks: SimpleNamespace, client: TestClient, corral_cli: Run,
) -> None:
    by_number = app.task(name="keyed_by_number", limit_key=lambda n: n)(lambda n: n)
    with pytest.raises(errors.InvalidArguments, match="failed on these arguments: TypeError"):
        tasks.keyed_badly.enqueue("plain")
    with pytest.raises(errors.InvalidArguments, match="must give a non-empty string, got 5"):
        by_number.enqueue(5)
    with pytest.raises(errors.InvalidArguments):  # all or none: the good one is not stored
        app.enqueue_many([tasks.keyed.s("1"), tasks.keyed_badly.s("plain")])
    with pytest.raises(errors.InvalidArguments):
        tasks.keyed.enqueue()  # a call the task could not take (no user)
    for body in ({"task": "keyed_badly", "args": ["plain"]}, {"task": "keyed_by_number",
                                                              "args": [5]}):
        response = client.post("/api/v1/jobs", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InvalidArguments"
    batch = client.post("/api/v1/batches", json={"jobs": [
        {"task": "keyed", "args": ["1"]}, {"task": "keyed_badly", "args": ["plain"]}]})
    assert batch.status_code == 422
    cli = corral_cli("enqueue", *APP, "keyed_badly", '["plain"]')
    assert cli.returncode == 2 and "limit_key of task 'keyed_badly'" in one_error_line(cli)
    assert app.list_jobs(limit=None) == [] and app.list_batches() == []


def test_task_options_are_checked_at_registration(app: corral.Corral) -> None:
    with pytest.raises(errors.ConfigError, match="limit_key"):
        app.task(name="bad_key", limit_key=5)(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigError, match="cancel_grace"):
        app.task(name="bad_grace", cancel_grace="soon")(lambda: None)
    graced = app.task(name="graced", isolation="process", cancel_grace="2s")(lambda: None)
    assert graced.options.cancel_grace == 2.0


def test_the_task_key_limit_holds_across_workers(
    app: corral.Corral, tasks: SimpleNamespace, client: TestClient, start_worker: StartWorker,
    marks: Path,
) -> None:
    """Jobs enqueued by task name over HTTP with no key, and from Python, share the
    task's per-user limit of 2 with real workers claiming at once."""
    for i in range(10):
        assert client.post("/api/v1/jobs", json={"task": "keyed", "args": [str(i % 2)],
                                                 "kwargs": {"ms": 40}}).status_code == 201
    app.enqueue_many([tasks.keyed.s(str(i % 2), ms=40) for i in range(10)])
    for _ in range(3):
        start_worker(concurrency=4)
    wait_until(drained(app, 20), timeout=60, message="20 jobs done")
    assert max_overlap(marks, "user-0") <= 2 and max_overlap(marks, "user-1") <= 2
    assert max_overlap(marks) > 2  # the keys do not limit each other
