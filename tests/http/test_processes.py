"""``corral serve --processes 2`` as real processes, on both stores: both serve the one
port, an event stream shows a change whichever process serves it, a server process killed
with -9 is replaced while the other keeps answering, and SIGTERM stops them all."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http.serving import sse_events, wait_answering
from tests.http.test_serve import REPO, free_port
from tests.waiting import wait_until

ADMIN = {"Authorization": "Bearer s3cret"}
STREAMS = 6


def server_processes(supervisor: int) -> set[int]:
    """The pids of the supervisor's server processes (not multiprocessing's helper)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = set()
    for pid in children:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue  # gone meanwhile
        if b"spawn_main" in command:
            found.add(int(pid))
    return found


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_ADMIN_TOKEN": "s3cret"}
    env.pop("CORRAL_DATABASE_URL", None)
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "serve", "--app", "tests.workerapp:app",
             "--db", db_url, "--port", str(port), "--processes", "2", "--with-worker",
             "--log-level", "info"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            wait_answering(process, base)
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            yield process, base
        finally:
            if process.poll() is None:
                for pid in server_processes(process.pid):
                    os.kill(pid, signal.SIGKILL)
                process.kill()
                process.wait(30)
    assert "s3cret" not in (tmp_path / "serve.log").read_text()  # never logged


def test_every_process_s_streams_see_a_change_and_the_supervisor_s_worker_runs_it(
        served: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base = served
    wait_until(lambda: len(server_processes(process.pid)) == 2, message="two server processes")
    seen: queue.Queue[tuple[int, str]] = queue.Queue()
    ready = threading.Barrier(STREAMS + 1, timeout=30)

    def watch(index: int) -> None:
        with httpx.stream("GET", f"{base}/events/stream", headers=ADMIN,
                          timeout=httpx.Timeout(30)) as response:
            for event, data in sse_events(response):
                if event == "ready":
                    ready.wait()
                elif event == "job_update" and data.get("status") == "completed":
                    seen.put((index, data["id"]))
                    return

    watchers = [threading.Thread(target=watch, args=(i,), daemon=True)
                for i in range(STREAMS)]
    for thread in watchers:
        thread.start()
    ready.wait()
    created = httpx.post(f"{base}/jobs", json={"task": "noop", "args": [3]}, headers=ADMIN)
    job_id = created.json()["id"]
    for thread in watchers:
        thread.join(30)
    reported = [seen.get_nowait() for _ in range(seen.qsize())]
    assert sorted(reported) == [(i, job_id) for i in range(STREAMS)]
    assert httpx.get(f"{base}/jobs/{job_id}", headers=ADMIN).json()["result"] == 3


def test_a_killed_server_process_is_replaced_and_sigterm_stops_them_all(
        served: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base = served
    pids = wait_until(lambda: len(found := server_processes(process.pid)) == 2 and found,
                      message="two server processes")
    victim, survivor = sorted(pids)
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):  # the survivor answers while the victim is replaced
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    now = wait_until(lambda: len(found := server_processes(process.pid)) == 2
                     and victim not in found and found, timeout=30,
                     message="a new server process in the killed one's place")
    assert survivor in now
    wait_answering(process, base)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)
