"""Real Dagster on corral: a temporary ``DAGSTER_HOME`` whose ``dagster.yaml`` names
``CorralRunLauncher`` on the test's store (both backends), runs launched with ``dagster job
launch`` as a user does, ``corral worker --app corral.contrib.dagster:app`` processes, and
the jobs of ``examples/dagster/jobs.py`` writing marks of what really ran."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

import corral
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "dagster"
CANCEL_GRACE = 2  # seconds from SIGTERM to SIGKILL


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    instance: DagsterInstance
    store: corral.Corral
    marks: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def launch(self, job_name: str) -> str:
        """``dagster job launch``; the new run's id."""
        done = subprocess.run(
            [sys.executable, "-m", "dagster", "job", "launch", "-f",
             str(EXAMPLE / "jobs.py"), "-j", job_name],
            cwd=self.home, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        runs = self.instance.get_runs(limit=1)
        assert runs and runs[0].job_name == job_name
        return str(runs[0].run_id)

    def worker(self) -> subprocess.Popen[bytes]:
        log = open(self.home / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "worker", "--app", "corral.contrib.dagster:app",
             "--queues", "dagster", "--concurrency", "6"],
            cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(process)
        return process

    def run_status(self, run_id: str) -> DagsterRunStatus:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        return run.status

    def wait_run(self, run_id: str, *statuses: DagsterRunStatus, timeout: float = 90
                 ) -> DagsterRunStatus:
        return wait_until(lambda: (status := self.run_status(run_id)) in statuses and status,
                          timeout=timeout, message=f"run {run_id} to be {statuses}")

    def job_of(self, run_id: str) -> corral.Job:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        return self.store.get_job(run.tags["corral/job_id"])

    def marked(self, name: str) -> bool:
        return (self.marks / name).exists()

    def mark_pid(self, name: str) -> int:
        return int((self.marks / name).read_text())

    def beat(self) -> int:
        """The stubborn op's last beat (-1 before the first)."""
        try:
            return int((self.marks / "stubborn-beat").read_text() or -1)
        except (OSError, ValueError):
            return -1


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return bool(re.search(r"^State:\s+Z", Path(f"/proc/{pid}/status").read_text(), re.M))
    except OSError:
        return False


@pytest.fixture
def deployment(db_url: str, tmp_path: Path) -> Iterator[Deployment]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = (EXAMPLE / "dagster.yaml").read_text()
    config = config.replace("cancel_grace: 10", f"cancel_grace: {CANCEL_GRACE}")
    (home / "dagster.yaml").write_text(config)
    marks = tmp_path / "marks"
    env = {**os.environ, "DAGSTER_HOME": str(home), "CORRAL_DATABASE_URL": db_url,
           "CORRAL_EXAMPLE_MARKS": str(marks), "PYTHONPATH": str(REPO),
           "DAGSTER_DISABLE_TELEMETRY": "1"}
    os.environ["CORRAL_DATABASE_URL"] = db_url  # the dagster.yaml reads it
    store = corral.Corral(db_url)
    instance = DagsterInstance.from_config(str(home))
    running = Deployment(home, env, instance, store, marks)
    try:
        yield running
    finally:
        for worker in running.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
        instance.dispose()
        store.close()
        del os.environ["CORRAL_DATABASE_URL"]


def quiet_logger() -> logging.Logger:
    return logging.getLogger("tests.dagster_runs")

