"""The tasks the benchmark's worker processes run (``--app bench.tasks:app``).

The app has no URL of its own: worker processes get ``--db``, and the benchmark process
points ``app`` at each scenario's fresh database (``scenarios.Bench``). Tasks leave marker
files in ``CORRAL_BENCH_MARKS`` (``<job_id>.<what>``) so the benchmark sees what the code
really did, not only what the store says.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import corral

app = corral.Corral()


def marks_dir() -> Path:
    return Path(os.environ.get("CORRAL_BENCH_MARKS", "."))


def mark(job_id: str, what: str, text: str = "") -> None:
    """Writes the marker whole before it appears (a reader never sees it empty)."""
    path = marks_dir() / f"{job_id}.{what}"
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text)
    staging.rename(path)


@app.task(name="bench.noop")
def noop(n: int = 0) -> int:
    return n


@app.task(name="bench.checkpoints")
def checkpoints(ctx: corral.Context) -> None:
    """A sync task that checks for a cancel every 10 ms."""
    mark(ctx.job_id, "started")
    try:
        while True:
            ctx.checkpoint()
            time.sleep(0.01)
    finally:
        mark(ctx.job_id, "stopped")


@app.task(name="bench.sleeper")
async def sleeper(ctx: corral.Context) -> None:
    """An async task awaiting one long sleep: a cancel lands at that await."""
    mark(ctx.job_id, "started")
    try:
        await asyncio.sleep(60)
    finally:
        mark(ctx.job_id, "stopped")


@app.task(name="bench.isolated_sleep", isolation="process")
def isolated_sleep(ctx: corral.Context) -> None:
    """A plain sleep in a child process: never checks, so only the kill stops it. The
    marker holds the child's pid; the benchmark waits for that process to be gone (a
    killed process runs no ``finally``)."""
    mark(ctx.job_id, "started", str(os.getpid()))
    try:
        time.sleep(3600)
    finally:
        mark(ctx.job_id, "stopped")


@app.task(name="bench.survivor", max_attempts=3)
def survivor(ctx: corral.Context) -> None:
    """Marks each attempt's start with the pid of the worker process running it; checks
    every 10 ms so a forced cancel frees the worker's slot at once."""
    mark(ctx.job_id, f"attempt-{ctx.attempt}", str(os.getpid()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ctx.checkpoint()
        time.sleep(0.01)
