"""What every peer adapter provides, and the scenarios run the same way for all of them.

A peer adapter (one module per peer: ``bench/peers/<peer>.py``) says how to reset the
peer's broker, enqueue one or many jobs, start one worker process with the peer's
documented defaults, and (where the peer can) stop a running job. Its task module
(``bench/peers/<peer>_tasks.py``, imported by the peer's own worker command) records what
the code really did through :func:`done` and :func:`mark`, so every queue is timed the same
way: by what its worker process wrote, not by each peer's idea of status.

``done`` appends one fixed-width record per finished job to a file per worker process
(``os.write`` on an ``O_APPEND`` descriptor, a few microseconds), so counting finished jobs
is a ``stat`` and the no-op job stays a no-op.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ancestor_in, kill_group, pct, wait

REPO = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("CORRAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_ADMIN = os.environ.get("CORRAL_TEST_POSTGRES_URL",
                                "postgresql://postgres@127.0.0.1:5432/test")
PEER_DATABASE = "corral_bench_peer"
POSTGRES = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + PEER_DATABASE

TAG_WIDTH = 24
RECORD = TAG_WIDTH + 1 + 17 + 1  # tag, space, time.time() as %17.6f, newline


class Unsupported(Exception):
    """The peer cannot do this scenario; the message says why (it goes into the report)."""


# -- what tasks call, inside the peer's worker process -----------------------------------


def marks_dir() -> Path:
    return Path(os.environ.get("CORRAL_BENCH_MARKS", "."))


_done_fd: dict[int, int] = {}


def done(tag: str) -> None:
    """Records that the job tagged ``tag`` finished, with the wall-clock time."""
    pid = os.getpid()
    fd = _done_fd.get(pid)
    if fd is None:
        fd = os.open(marks_dir() / f"done.{pid}", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        _done_fd[pid] = fd
    os.write(fd, f"{tag[:TAG_WIDTH]:<{TAG_WIDTH}} {time.time():17.6f}\n".encode())


def mark(tag: str, what: str) -> None:
    """Leaves ``<tag>.<what>`` in the marks folder (started, stopped, attempt-...), holding
    the pid of the process that ran the job."""
    path = marks_dir() / f"{tag}.{what}"
    staging = path.with_name(f".{path.name}.tmp")  # whole before it appears
    staging.write_text(str(os.getpid()))
    staging.rename(path)


# -- what the benchmark reads ------------------------------------------------------------


def done_count(marks: Path) -> int:
    return sum(path.stat().st_size for path in marks.glob("done.*")) // RECORD


def done_times(marks: Path) -> dict[str, float]:
    times = {}
    for path in marks.glob("done.*"):
        for line in path.read_text().splitlines():
            times[line[:TAG_WIDTH].strip()] = float(line[TAG_WIDTH:])
    return times






class Peer(ABC):
    """One peer queue. Subclasses set ``name``, ``store`` and ``package`` and implement
    the abstract methods; ``enqueue_bulk``, ``cancel`` and ``ready`` have defaults."""

    name: str  # how the report names it, e.g. "pgqueuer"
    store: str  # "postgres" or "redis"
    package: str  # distribution name, for the version in the report
    cancel_kind = "async"  # the kind of job ``cancel`` is measured on: "async" or "sync"
    drain_share = 1.0  # a very slow peer drains this share of the jobs (the rate is kept)
    notes: dict[str, str] = {}  # scenario -> what the report says about how it ran

    def __init__(self, marks: Path) -> None:
        self.marks = marks
        self.workers: list[subprocess.Popen[bytes]] = []
        self.baseline = 0

    # -- what each adapter implements --

    @abstractmethod
    def reset_broker(self) -> None:
        """Empties the broker (fresh Redis db / fresh PostgreSQL database + schema)."""

    @abstractmethod
    def enqueue(self, task: str, tag: str) -> Any:
        """Enqueues one job of ``task`` ("noop", "sleeper", "survivor") with argument
        ``tag``, in the peer's documented single-job way; returns what ``cancel`` needs."""

    def enqueue_bulk(self, task: str, tags: Sequence[str]) -> None:
        """Enqueues many jobs in the peer's documented bulk way."""
        raise Unsupported("no bulk enqueue")

    @abstractmethod
    def worker_command(self, concurrency_one: bool = False) -> list[str]:
        """The peer's own worker command, default settings (``concurrency_one`` only for the
        orphan scenario, so the survivor job is the only one the doomed worker holds)."""

    def cancel(self, handle: Any) -> None:
        """Asks the peer, through its public API, to stop the running job ``handle``."""
        raise Unsupported("cannot stop a running job")

    def ready(self) -> bool:
        """True once a started worker takes jobs (default: it ran a probe job)."""
        return True

    def close(self) -> None:  # noqa: B027 (most peers hold nothing to release)
        """Releases client connections."""

    # -- shared machinery --

    def start_worker(self, concurrency_one: bool = False) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_BENCH_MARKS": str(self.marks),
               "CORRAL_BENCH_REDIS_URL": REDIS, "CORRAL_BENCH_PEER_POSTGRES": POSTGRES}
        process = subprocess.Popen(
            self.worker_command(concurrency_one), cwd=REPO, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(self.marks / "worker.log", "ab"),  # noqa: SIM115
        )
        self.workers.append(process)
        return process

    def reset(self) -> None:
        """A fresh broker and an empty marks folder (no worker runs at this point)."""
        self.stop_workers()
        self.reset_broker()
        for path in self.marks.iterdir():
            if path.name != "worker.log":
                path.unlink()
        self.baseline = 0

    def warm(self) -> None:
        """Waits until every started worker process is up and ran a probe job, so start-up
        is not timed; jobs finished so far are not counted by :meth:`finished`."""
        for process in self.workers:
            tag = f"warm{process.pid}"
            self.enqueue("noop", tag)
            wait(lambda t=tag: t in done_times(self.marks), 60, interval=0.01)
        self.baseline = done_count(self.marks)

    def finished(self) -> int:
        """Jobs finished since :meth:`warm`."""
        return done_count(self.marks) - self.baseline

    def stop_workers(self) -> None:
        for process in self.workers:
            kill_group(process)
        self.workers.clear()


def python_bin(tool: str) -> str:
    """The console script ``tool`` of the benchmark's venv."""
    return str(Path(sys.executable).parent / tool)


# -- the scenarios, the same for every peer ----------------------------------------------


def enqueue(peer: Peer, n: int) -> dict[str, float]:
    peer.reset()
    started = time.perf_counter()
    for i in range(n):
        peer.enqueue("noop", f"e{i}")
    result = {"single_jobs_per_s": n / (time.perf_counter() - started)}
    peer.reset()
    tags = [f"b{i}" for i in range(n)]
    started = time.perf_counter()
    try:
        peer.enqueue_bulk("noop", tags)
        result["bulk_jobs_per_s"] = n / (time.perf_counter() - started)
    except Unsupported as why:
        peer.notes["enqueue"] = f"bulk: {why}"
    return result


def drain(peer: Peer, n: int) -> dict[str, float]:
    result = {}
    n = max(100, int(n * peer.drain_share))
    for processes in (1, 2):
        peer.reset()
        for _ in range(processes):
            peer.start_worker()
        peer.warm()
        _pause_free_enqueue(peer, n)
        started = time.perf_counter()
        _resume(peer)
        wait(lambda: peer.finished() >= n, 900, interval=0.01)
        result[f"{processes}_worker_jobs_per_s"] = n / (time.perf_counter() - started)
        peer.stop_workers()
    return result


def _pause_free_enqueue(peer: Peer, n: int) -> None:
    """Queues ``n`` jobs while the workers are stopped (SIGSTOP), so draining starts from a
    full queue with warm workers, as corral's drain does with its workers started after."""
    for process in peer.workers:
        os.killpg(process.pid, signal.SIGSTOP)
    tags = [f"d{i}" for i in range(n)]
    try:
        peer.enqueue_bulk("noop", tags)
    except Unsupported:
        for tag in tags:
            peer.enqueue("noop", tag)


def _resume(peer: Peer) -> None:
    for process in peer.workers:
        os.killpg(process.pid, signal.SIGCONT)


def latency(peer: Peer, n: int) -> dict[str, float]:
    peer.reset()
    peer.start_worker()
    peer.warm()
    enqueued = {}
    for i in range(n):
        tag = f"l{i}"
        enqueued[tag] = time.time()
        peer.enqueue("noop", tag)
        time.sleep(0.02)
    wait(lambda: peer.finished() >= n, 60, interval=0.01)
    finished = done_times(peer.marks)
    ms = [(finished[tag] - at) * 1000 for tag, at in enqueued.items()]
    peer.stop_workers()
    return {"p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99)}


def cancel(peer: Peer, n: int) -> dict[str, Any]:
    peer.reset()
    peer.start_worker()
    peer.warm()
    ms = []
    try:
        for i in range(n):
            tag = f"c{i}"
            handle = peer.enqueue("sleeper", tag)
            wait(lambda t=tag: (peer.marks / f"{t}.started").exists(), 30)
            time.sleep(random.uniform(0, 0.01))
            asked = time.perf_counter()
            peer.cancel(handle)
            wait(lambda t=tag: (peer.marks / f"{t}.stopped").exists(), 30)
            ms.append((time.perf_counter() - asked) * 1000)
    finally:
        peer.stop_workers()
    kind = peer.cancel_kind
    return {f"{kind}_p50_ms": statistics.median(ms), f"{kind}_p99_ms": pct(ms, 0.99),
            f"{kind}_max_ms": max(ms), f"{kind}_samples_ms": ms}


def orphan(peer: Peer, bound: float) -> dict[str, float]:
    """Kills a worker mid-job; how long until the job starts again on another worker. A
    peer that has not re-run it within ``bound`` seconds gets ``bound`` and a note."""
    peer.reset()
    try:
        for _ in range(2):
            peer.start_worker(concurrency_one=True)
        peer.warm()
        peer.enqueue("survivor", "o0")
        first = wait(lambda: list(peer.marks.glob("o0.attempt-*")), 30)
        runner = ancestor_in(int(first[0].read_text()), {w.pid for w in peer.workers})
        doomed = next(process for process in peer.workers if process.pid == runner)
        killed = time.perf_counter()
        kill_group(doomed)
        try:
            wait(lambda: len(list(peer.marks.glob("o0.attempt-*"))) > len(first), bound,
                 interval=0.05)
            seconds = time.perf_counter() - killed
        except TimeoutError:
            peer.notes["orphan"] = f"job not run again within {bound:.0f} s"
            seconds = bound
    finally:
        peer.stop_workers()
    return {"median_s": seconds, "max_s": seconds}

