"""A real ``corral serve --with-worker`` on SQLite with tokens, for the browser tests and
the README screenshot (``python -m tests.web.screenshot``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.http.test_serve import free_port
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "web-admin-s3cret"
READ_TOKEN = "web-read-s3cret"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Server:
    url: str  # the dashboard, http://127.0.0.1:<port>/
    api: httpx.Client  # the HTTP API with the admin token
    db: str  # the store's URL, for other processes (a worker, the CLI) on the same file

    def enqueue(self, task: str, *args: Any, **options: Any) -> str:
        kwargs = options.pop("kwargs", {})
        answer = self.api.post("/jobs", json={"task": task, "args": list(args),
                                              "kwargs": kwargs, **options})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_status(self, job_id: str, *statuses: str) -> dict[str, Any]:
        return wait_until(lambda: (job := self.job(job_id))["status"] in statuses and job,
                          timeout=30, message=f"job {job_id} to be {' or '.join(statuses)}")


@contextmanager
def serve(folder: Path, *, tokens: bool = True) -> Iterator[Server]:
    """The server on a fresh SQLite file in ``folder`` (its log goes to serve.log), with
    the admin and read tokens, or (``tokens=False``) none: loopback only, no questions."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_TEST_MARKS": str(folder)}
    for name in ("CORRAL_DATABASE_URL", "CORRAL_ADMIN_TOKEN", "CORRAL_READ_TOKEN",
                 "CORRAL_TOKENS_FILE"):
        env.pop(name, None)
    if tokens:
        env.update(CORRAL_ADMIN_TOKEN=ADMIN_TOKEN, CORRAL_READ_TOKEN=READ_TOKEN)
    db = f"sqlite:///{folder / 'corral.db'}"
    command = [sys.executable, "-m", "corral", "serve", "--app", "tests.workerapp:app",
               "--db", db, "--port", str(port),
               "--with-worker", "--log-level", "warning"]
    with open(folder / "serve.log", "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=f"{url}/api/v1", timeout=10,
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"} if tokens else {})

    def up() -> bool:
        try:
            return api.get("/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    try:
        wait_until(up, timeout=30, message="the server to answer")
        assert process.poll() is None, (folder / "serve.log").read_text()
        yield Server(url=f"{url}/", api=api, db=db)
    finally:
        api.close()
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
