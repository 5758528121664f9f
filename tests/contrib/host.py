"""The StockDigest example app (``examples/stockdigest``) served by a real uvicorn in a
process of its own, with corral mounted inside it and its in-process worker: what a user
of ``corral.contrib.fastapi`` deploys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.http.test_serve import free_port
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
ALICE = {"Authorization": "Bearer alice-key"}  # an admin of the host app
BOB = {"Authorization": "Bearer bob-key"}  # a user who is not an admin
ALICE_EMAIL = "alice@stockdigest.example"
PREFIX = "/ops/jobs"


@dataclass
class Host:
    url: str  # the host app's root, http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    output: Path  # where the digests are written: what really ran
    log: Path

    @property
    def api(self) -> str:
        """corral's API under the host's prefix."""
        return f"{self.url}{PREFIX}/api/v1"

    def digests(self, *tickers: str, days: int = 2, step: float = 0.0) -> dict[str, object]:
        answer = httpx.post(f"{self.url}/digests", headers=ALICE, timeout=10,
                            json={"tickers": list(tickers), "days": days, "step": step})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def job(self, job_id: str) -> dict[str, object]:
        answer = httpx.get(f"{self.api}/jobs/{job_id}", headers=ALICE, timeout=10)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_status(self, job_id: str, *statuses: str) -> dict[str, object]:
        return wait_until(lambda: (job := self.job(job_id))["status"] in statuses and job,
                          timeout=30, message=f"job {job_id} to be {' or '.join(statuses)}")

    def stop(self) -> None:
        """SIGTERM, as a process manager stops the app; returns once it exited. uvicorn
        shuts down gracefully (the lifespan's end), then ends with the signal it got."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) in (0, -signal.SIGTERM), self.log.read_text()


@contextmanager
def serve_host(db_url: str, folder: Path, **env: str) -> Iterator[Host]:
    port = free_port()
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_DATABASE_URL": db_url,
                "STOCKDIGEST_OUTPUT": str(folder / "digests"), **env}
    for name in ("CORRAL_ADMIN_TOKEN", "CORRAL_READ_TOKEN", "CORRAL_TOKENS_FILE"):
        full_env.pop(name, None)
    log = folder / "host.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "examples.stockdigest.app:api",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    host = Host(f"http://127.0.0.1:{port}", process, folder / "digests", log)

    def up() -> bool:
        try:
            return httpx.get(f"{host.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    try:
        wait_until(up, timeout=30, message="the host app to answer")
        assert process.poll() is None, log.read_text()
        yield host
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
