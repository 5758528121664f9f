"""Fixtures: a real store per test, a client app, and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import corral
from corral.store import Store, open_store
from tests import workerapp
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite"]  # PostgreSQL joins when its store lands


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for this test."""
    return f"sqlite:///{tmp_path / 'corral.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    opened.migrate()
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where test tasks leave marker files, in worker processes and in-process alike."""
    folder = tmp_path / "marks"
    folder.mkdir()
    monkeypatch.setenv("CORRAL_TEST_MARKS", str(folder))
    return folder


@pytest.fixture
def app(db_url: str) -> Iterator[corral.Corral]:
    client = corral.Corral(db_url)
    yield client
    client.close()


@pytest.fixture
def tasks(app: corral.Corral) -> SimpleNamespace:
    """The test tasks registered on the client app (same names as in worker processes)."""
    return workerapp.register(app)


@pytest.fixture
def start_worker(
    db_url: str, marks: Path, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``corral worker`` processes on the test database; all are stopped after."""
    started: list[subprocess.Popen[bytes]] = []
    probe = open_store(db_url)
    probe.migrate()

    def start(
        *, queues: str = "default", concurrency: int = 4,
        heartbeat_interval: str | None = "0.5", worker_id: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """``heartbeat_interval=None`` keeps the default; ``settings`` become CORRAL_* vars."""
        command = [
            sys.executable, "-m", "corral", "worker", "--app", "tests.workerapp:app",
            "--db", db_url, "--queues", queues, "--concurrency", str(concurrency),
        ]
        if heartbeat_interval:
            command += ["--heartbeat-interval", heartbeat_interval]
        if worker_id:
            command += ["--worker-id", worker_id]
        env = {**os.environ, "CORRAL_TEST_MARKS": str(marks), "PYTHONPATH": str(REPO)}
        env.update({f"CORRAL_{k.upper()}": v for k, v in (settings or {}).items()})
        env.pop("CORRAL_DATABASE_URL", None)
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        started.append(process)
        wait_until(
            lambda: process.poll() is not None
            or any(w.pid == process.pid and w.state == "running" for w in probe.list_workers()),
            timeout=30, message="the worker to register",
        )
        assert process.poll() is None, (tmp_path / f"worker-{len(started) - 1}.log").read_text()
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
    probe.close()


def marked(marks: Path, job_id: str, what: str) -> bool:
    return (marks / f"{job_id}.{what}").exists()


@pytest.fixture
def is_marked(marks: Path) -> Callable[[str, str], bool]:
    return lambda job_id, what: marked(marks, job_id, what)
