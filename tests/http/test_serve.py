"""``corral serve`` as a real process: secure by default, and with an in-process worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http.serving import wait_answering
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def corral(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("CORRAL_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "corral", *args], cwd=REPO, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_public_bind_without_a_token_is_refused(db_url: str) -> None:
    process = corral("serve", "--app", "tests.workerapp:app", "--db", db_url,
                     "--host", "0.0.0.0", "--port", str(free_port()),
                     env={"CORRAL_ADMIN_TOKEN": "", "CORRAL_READ_TOKEN": ""})
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0]


@pytest.fixture
def server(db_url: str) -> Iterator[str]:
    port = free_port()
    process = corral("serve", "--app", "tests.workerapp:app", "--db", db_url, "--port",
                     str(port), "--with-worker", "--log-level", "warning",
                     env={"CORRAL_ADMIN_TOKEN": "s3cret"})
    base = f"http://127.0.0.1:{port}/api/v1"

    wait_answering(process, base)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    yield base
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert b"s3cret" not in err  # the token is never logged


def test_serve_with_worker_runs_an_enqueued_job(server: str) -> None:
    admin = {"Authorization": "Bearer s3cret"}
    assert httpx.post(f"{server}/jobs", json={"task": "noop"}).status_code == 401
    created = httpx.post(f"{server}/jobs", json={"task": "noop", "args": [7]}, headers=admin)
    assert created.status_code == 201
    job_id = created.json()["id"]
    done = wait_until(lambda: (job := httpx.get(f"{server}/jobs/{job_id}",
                                                headers=admin).json())["status"]
                      == "completed" and job, message="the job to complete")
    assert done["result"] == 7
