"""Fixtures: a real store per test, a client app, and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

import corral
from corral.store import Store, open_store
from tests import workerapp
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
BACKENDS = [
    name.strip()
    for name in os.environ.get("CORRAL_TEST_BACKENDS", "sqlite,postgres").split(",")
    if name.strip()
]
POSTGRES_URL = os.environ.get("CORRAL_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def postgres_or_skip() -> None:
    """PostgreSQL must answer; when CORRAL_REQUIRE_POSTGRES=1 (CI) a silent skip is a fail."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("CORRAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test: a SQLite file, or a PostgreSQL schema of
    its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'corral.db'}"
        return
    postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store, for tests of SQLite's own mechanisms (outbox, doorbell)."""
    opened = open_store(f"sqlite:///{tmp_path / 'sqlite-only.db'}")
    opened.migrate()
    yield opened
    opened.close()


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
        settings: dict[str, str] | None = None, db: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """``heartbeat_interval=None`` keeps the default; ``settings`` become CORRAL_* vars;
        ``db`` reaches the test's database another way (through a proxy)."""
        command = [
            sys.executable, "-m", "corral", "worker", "--app", "tests.workerapp:app",
            "--db", db or db_url, "--queues", queues, "--concurrency", str(concurrency),
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
