"""The scenarios, one function each; every one gets a fresh database and returns numbers.

Workers are real ``corral worker`` processes in their own process group, killed as a
group afterwards, so nothing of one scenario leaks into the next.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

import corral
from bench import http_load
from bench.common import kill_group, pct, wait
from corral import waiters as waiters_module
from corral.store import open_store

REPO = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("CORRAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Bench:
    """One scenario's database, app and workers."""

    def __init__(self, backend: str, scratch: Path) -> None:
        self.marks = Path(tempfile.mkdtemp(dir=scratch))
        os.environ["CORRAL_BENCH_MARKS"] = str(self.marks)
        if backend == "sqlite":
            self.url = f"sqlite:///{self.marks / 'bench.db'}"
            self.schema = None
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            joined = "&" if "?" in POSTGRES else "?"  # the URL may carry options already
            self.url = f"{POSTGRES}{joined}schema={self.schema}"
        os.environ["CORRAL_DATABASE_URL"] = self.url
        from bench import tasks

        tasks.app.close()
        tasks.app.settings = tasks.app.settings.override(database_url=self.url)
        tasks.MARKS = self.marks
        self.app: corral.Corral = tasks.app
        self.tasks = tasks
        self.app.store.migrate()
        self.workers: list[subprocess.Popen[bytes]] = []

    def worker(self, *flags: str) -> subprocess.Popen[bytes]:
        before = {w.id for w in self.app.store.list_workers()}
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "worker", "--app", "bench.tasks:app",
             "--db", self.url, "--log-level", "ERROR", *flags],
            cwd=REPO, env=env, start_new_session=True,
        )
        self.workers.append(process)
        wait(lambda: {w.id for w in self.app.store.list_workers()} - before, 30)
        return process

    def marked(self, job_id: str, what: str) -> bool:
        return (self.marks / f"{job_id}.{what}").exists()

    def pending(self) -> bool:
        return bool(self.app.list_jobs(status=["queued", "scheduled", "running"], limit=1))

    def close(self) -> None:
        for process in self.workers:
            kill_group(process)
        self.app.close()
        if self.schema:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


@contextmanager
def bench(backend: str, scratch: Path) -> Iterator[Bench]:
    run = Bench(backend, scratch)
    try:
        yield run
    finally:
        run.close()


# -- scenarios ---------------------------------------------------------------------------


def enqueue(backend: str, scratch: Path, n: int) -> dict[str, float]:
    with bench(backend, scratch) as b:
        started = time.perf_counter()
        for i in range(n):
            b.tasks.noop.enqueue(i)
        single = n / (time.perf_counter() - started)
    with bench(backend, scratch) as b:
        signatures = [b.tasks.noop.s(i) for i in range(n)]
        started = time.perf_counter()
        b.app.enqueue_many(signatures)
        bulk = n / (time.perf_counter() - started)
    return {"single_jobs_per_s": single, "bulk_jobs_per_s": bulk}


DRAIN_PROCESSES = (1, 2, 4)  # the curve of REPORT.md; the peers run 1 and 2


def drain(backend: str, scratch: Path, n: int) -> dict[str, float]:
    """As the peers' drain (peers.base.drain): the workers start and register first, are
    stopped (SIGSTOP) while the ``n`` jobs are queued, and the clock runs from when they
    resume until the queue is empty; process start-up is not timed."""
    result = {}
    for processes in DRAIN_PROCESSES:
        with bench(backend, scratch) as b:
            for _ in range(processes):
                b.worker()
            _signal_workers(b, signal.SIGSTOP)
            b.app.enqueue_many([b.tasks.noop.s(i) for i in range(n)])
            started = time.perf_counter()
            _signal_workers(b, signal.SIGCONT)
            wait(lambda b=b: not b.pending(), 600, interval=0.02)
            result[f"{processes}_worker_jobs_per_s"] = n / (time.perf_counter() - started)
    return result


def _signal_workers(b: Bench, sig: signal.Signals) -> None:
    for process in b.workers:
        os.killpg(process.pid, sig)


def latency(backend: str, scratch: Path, n: int) -> dict[str, float]:
    with bench(backend, scratch) as b:
        b.worker()
        handles = []
        for i in range(n):
            handles.append(b.tasks.noop.enqueue(i))
            time.sleep(0.02)
        ms = []
        for handle in handles:
            job = handle.wait(timeout=30)
            assert job.finished_at and job.created_at
            ms.append((job.finished_at - job.created_at).total_seconds() * 1000)
    return {"p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99)}


def cancel(backend: str, scratch: Path, n: int) -> dict[str, Any]:
    result = {}
    with bench(backend, scratch) as b:
        b.worker()
        for name, task in (("sync", b.tasks.checkpoints), ("async", b.tasks.sleeper)):
            ms = []
            for _ in range(n):
                handle = task.enqueue()
                wait(lambda h=handle: b.marked(h.id, "started"), 30)
                time.sleep(random.uniform(0, 0.01))
                asked = time.perf_counter()
                handle.cancel()
                wait(lambda h=handle: b.marked(h.id, "stopped"), 30)
                ms.append((time.perf_counter() - asked) * 1000)
                handle.wait(timeout=30)
            result[f"{name}_p50_ms"] = statistics.median(ms)
            result[f"{name}_p99_ms"] = pct(ms, 0.99)
            result[f"{name}_max_ms"] = max(ms)
            result[f"{name}_samples_ms"] = ms  # the report's histogram
    result["process_max_s"] = _isolated_stop(backend, scratch, max(1, n // 10))
    return result


ISOLATED_GRACE_S = 1.0


def _isolated_stop(backend: str, scratch: Path, n: int) -> float:
    """A process-isolated job that never checks, on a worker with ``cancel_grace`` 1 s:
    seconds from the cancel request until its child process is gone (target: grace + 1)."""
    seconds = []
    with bench(backend, scratch) as b:
        b.worker("--cancel-grace", str(ISOLATED_GRACE_S))
        for _ in range(n):
            handle = b.tasks.isolated_sleep.enqueue()
            wait(lambda h=handle: b.marked(h.id, "started"), 30)
            child = int((b.marks / f"{handle.id}.started").read_text())
            asked = time.perf_counter()
            handle.cancel()
            wait(lambda c=child: not _alive(c), 30, interval=0.005)
            seconds.append(time.perf_counter() - asked)
            handle.wait(timeout=30)
    return max(seconds)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone between the lookup and the read
        return False


def orphan(backend: str, scratch: Path, n: int) -> dict[str, float]:
    """Two workers of one slot each; the one that runs the survivor job is killed. The
    marker of each attempt holds the pid of the worker that ran it."""
    seconds = []
    with bench(backend, scratch) as b:
        for _ in range(2):
            b.worker("--concurrency", "1")
        for _ in range(n):
            handle = b.tasks.survivor.enqueue()
            wait(lambda h=handle: b.marked(h.id, "attempt-1"), 30)
            pid = int((b.marks / f"{handle.id}.attempt-1").read_text())
            doomed = next(w for w in b.workers if w.pid == pid)
            killed = time.perf_counter()
            kill_group(doomed)
            wait(lambda h=handle: b.marked(h.id, "attempt-2"), 60)
            seconds.append(time.perf_counter() - killed)
            b.workers.remove(doomed)
            handle.cancel(force=True)
            handle.wait(timeout=30)
            b.worker("--concurrency", "1")
    return {"median_s": statistics.median(seconds), "max_s": max(seconds)}


def waiters(backend: str, scratch: Path, n: int) -> dict[str, float]:
    """``n`` waiters, all waiting before any of their jobs runs: ``n`` coroutines on one
    event loop (``await handle.wait_async()``), then ``n`` threads (``handle.wait()``).
    Each waiter's lag: from its job's ``finished_at`` to the moment it has the job."""
    result: dict[str, float] = {}
    for mode, measure in (("sync", _sync_lags), ("async", _async_lags)):
        with bench(backend, scratch) as b:
            b.app.pause_queue("default")
            handles = b.app.enqueue_many([b.tasks.noop.s(i) for i in range(n)])
            b.worker("--concurrency", "8")
            lags = measure(b, handles)
        result[f"{mode}_p50_ms"] = statistics.median(lags)
        result[f"{mode}_p99_ms"] = pct(lags, 0.99)
    result["p99_extra_ms"] = result["async_p99_ms"] - result["sync_p99_ms"]
    return result


def _lag_ms(job: corral.Job, woke: float) -> float:
    assert job.finished_at is not None
    return (woke - job.finished_at.timestamp()) * 1000


def _sync_lags(b: Bench, handles: list[corral.JobHandle]) -> list[float]:
    lags: list[float] = []
    ready = threading.Barrier(len(handles) + 1)

    def waiter(handle: corral.JobHandle) -> None:
        ready.wait()
        job = handle.wait(timeout=120)
        lags.append(_lag_ms(job, time.time()))

    threads = [threading.Thread(target=waiter, args=(handle,)) for handle in handles]
    for thread in threads:
        thread.start()
    ready.wait()
    b.app.resume_queue("default")
    for thread in threads:
        thread.join()
    return lags


def _async_lags(b: Bench, handles: list[corral.JobHandle]) -> list[float]:
    async def waiter(handle: corral.JobHandle) -> float:
        job = await handle.wait_async(timeout=120)
        return _lag_ms(job, time.time())

    async def main() -> list[float]:
        waiting = [asyncio.ensure_future(waiter(handle)) for handle in handles]
        while waiters_module.waiting(b.url) < len(handles):  # every one registered
            await asyncio.sleep(0.01)
        await b.app.aresume_queue("default")
        return list(await asyncio.gather(*waiting))

    try:
        return asyncio.run(main())
    finally:
        waiters_module.stop_all()


DAGSTER_GRACE_S = 2


def dagster(backend: str, scratch: Path, n: int) -> dict[str, float]:
    """A Dagster run of a long op, launched by ``CorralRunLauncher`` and terminated through
    the instance's launcher: seconds from ``terminate()`` until the op's process is gone
    (it checks nothing: SIGTERM reaches it as Dagster's interrupt)."""
    from dagster import DagsterInstance

    examples = REPO / "examples" / "dagster"
    seconds = []
    with bench(backend, scratch) as b:
        home = b.marks / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text((examples / "dagster.yaml").read_text().replace(
            "cancel_grace: 10", f"cancel_grace: {DAGSTER_GRACE_S}"))
        env = {**os.environ, "DAGSTER_HOME": str(home), "CORRAL_EXAMPLE_MARKS": str(b.marks),
               "PYTHONPATH": str(REPO), "DAGSTER_DISABLE_TELEMETRY": "1"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "corral", "worker", "--app", "corral.contrib.dagster:app",
             "--queues", "dagster", "--log-level", "ERROR"],
            cwd=REPO, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
        b.workers.append(worker)
        instance = DagsterInstance.from_config(str(home))
        try:
            for _ in range(n):
                (b.marks / "crunch-started").unlink(missing_ok=True)
                subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f",
                                str(examples / "jobs.py"), "-j", "long"], cwd=home, env=env,
                               check=True, capture_output=True, timeout=120)
                run = instance.get_runs(limit=1)[0]
                wait(lambda: (b.marks / "crunch-started").exists(), 120, interval=0.01)
                op_process = int((b.marks / "crunch-started").read_text())
                asked = time.perf_counter()
                instance.run_launcher.terminate(run.run_id)
                wait(lambda pid=op_process: not _alive(pid), 60, interval=0.005)
                seconds.append(time.perf_counter() - asked)
        finally:
            instance.dispose()
    return {"terminate_to_gone_median_s": statistics.median(seconds),
            "terminate_to_gone_max_s": max(seconds)}


CRAWL = 1_000  # jobs per meta label value in the scale scenario: {"crawl_job_id": n // CRAWL}
SCHEDULED_EVERY = 10  # one job in ten is scheduled in the scale scenario


def scale(backend: str, scratch: Path, sizes: list[int]) -> dict[str, float]:
    """Claim, status read and meta-label lookup (``list_jobs(meta={"crawl_job_id": k})``,
    a page of 100, k drawn over every crawl so far: old crawls are the far end of a newest
    first walk) as the table grows. Every ``SCHEDULED_EVERY``-th job is scheduled an hour
    ahead, and PostgreSQL's statistics are fresh at each size (``VACUUM ANALYZE``, as
    autovacuum keeps them): plans chosen on an empty table's guesses hid a claim that
    read the whole table."""
    result: dict[str, float] = {}
    with bench(backend, scratch) as b:
        store = open_store(b.url)
        ids: list[str] = []
        for size in sizes:
            while len(ids) < size:
                chunk = min(10_000, size - len(ids))
                ids += [h.id for h in b.app.enqueue_many(
                    [b.tasks.noop.s(0).set(meta={"crawl_job_id": (len(ids) + i) // CRAWL},
                                           delay=3600 if (len(ids) + i) % SCHEDULED_EVERY
                                           == 0 else None)
                     for i in range(chunk)])]
                print(f"\r  {backend}: {len(ids):,} jobs", end="", flush=True)
            if b.schema:
                with psycopg.connect(POSTGRES, autocommit=True) as conn:
                    conn.execute(f"VACUUM ANALYZE {b.schema}.jobs, {b.schema}.job_events, "
                                 f"{b.schema}.job_labels")
            meta = []
            for crawl in random.sample(range(max(1, size // CRAWL)), min(20, size // CRAWL)):
                started = time.perf_counter()
                found = b.app.list_jobs(meta={"crawl_job_id": crawl}, limit=100)
                meta.append((time.perf_counter() - started) * 1000)
                assert len(found) == min(100, CRAWL), (crawl, len(found))
            result[f"meta_ms_{size}"] = statistics.median(meta)
            claim, status = [], []
            for _ in range(100):
                started = time.perf_counter()
                store.claim_jobs("bench", ["default"], 10)
                claim.append((time.perf_counter() - started) * 1000)
            for job_id in random.sample(ids, 200):
                started = time.perf_counter()
                b.app.get_job(job_id)
                status.append((time.perf_counter() - started) * 1000)
            result[f"claim_ms_{size}"] = statistics.median(claim)
            result[f"status_ms_{size}"] = statistics.median(status)
        print()
        store.close()
    return result


def memory(backend: str, scratch: Path, n: int) -> dict[str, float]:
    with bench(backend, scratch) as b:
        process = b.worker()
        time.sleep(1)
        idle = rss_mb(process.pid)
        b.app.enqueue_many([b.tasks.noop.s(i) for i in range(n)])
        peak = idle
        while b.pending():
            peak = max(peak, rss_mb(process.pid))
            time.sleep(0.05)
    return {"idle_rss_mb": idle, "draining_peak_rss_mb": peak}


def http(backend: str, scratch: Path, seconds: float) -> dict[str, float]:
    """Scenario 7: p50/p99 of ``GET /jobs/{id}`` and ``GET /stats`` under 50 clients, and
    of a change's trip to an open event stream."""
    with bench(backend, scratch) as b:
        handles = b.app.enqueue_many([b.tasks.noop.s(i) for i in range(http_load.JOBS)])
        server, base = http_load.start_server(b.url)
        b.workers.append(server)  # killed with the scenario's workers
        return http_load.measure(base, [h.id for h in handles], seconds,
                                 lambda: b.tasks.noop.enqueue(0).id)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
