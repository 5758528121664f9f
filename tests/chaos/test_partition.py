"""A worker cut off from PostgreSQL while it runs a job: it stops the job itself (fencing)
before another worker may take it over, so the job never has two live executions. What
ran is read from the spans the job itself writes, not from corral's status."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest

import corral
from tests.chaos.proxy import Proxy
from tests.chaos.test_postgres_connection_loss import spans
from tests.waiting import wait_until

LEASE = "3"


def through(proxy: Proxy, db_url: str) -> str:
    parts = urlsplit(db_url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else \
        f"127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("fault", ["partition", "crash"])
def test_a_cut_off_worker_stops_its_job_before_another_takes_it_over(
    app: corral.Corral, tasks: SimpleNamespace, db_url: str, marks: Path, fault: str,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """``partition``: bytes stop, sockets stay open, the server keeps the worker's lock, so
    the lease decides. ``crash``: the proxy in front of a live server dies, the sessions end
    (the lock is free at once) and the worker cannot reconnect."""
    upstream = urlsplit(db_url)
    proxy = Proxy((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    settings = {"lease": LEASE}
    cut_off = start_worker(concurrency=1, settings=settings, db=through(proxy, db_url),
                           worker_id="cut-off")
    job = tasks.span_retry.enqueue(6.0)
    wait_until(lambda: (marks / f"{job.id}.began1").exists(),
               message="the job's code to run")  # claimed is not yet running its code
    getattr(proxy, fault)()
    cut_at = time.time()
    start_worker(concurrency=1, settings=settings, worker_id="rescuer")
    done = job.wait(timeout=60)
    assert done.status == "completed" and done.worker_id == "rescuer"
    assert cut_off.poll() is None, "the cut-off worker is alive all along"
    first, second = sorted(wait_until(lambda: len(runs := spans(marks).get(job.id, [])) == 2
                                      and runs, message="both executions to end"))
    assert first[1] < second[0], f"two live executions at once: {first} and {second}"
    print(f"{fault}: the cut-off worker stopped the job {first[1] - cut_at:.2f}s after the "
          f"cut; the rescuer started it {second[0] - first[1]:.2f}s after that")
    proxy.close()
