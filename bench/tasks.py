"""The tasks the benchmark's worker processes run (``--app bench.tasks:app``)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import corral

app = corral.Corral()
MARKS = Path(os.environ.get("CORRAL_BENCH_MARKS", "."))


def mark(job_id: str, what: str) -> None:
    (MARKS / f"{job_id}.{what}").touch()


@app.task(name="bench.noop")
def noop(n: int = 0) -> int:
    return n


@app.task(name="bench.checkpoints")
def checkpoints(ctx: corral.Context) -> None:
    """Checks for a cancel every 10 ms."""
    mark(ctx.job_id, "started")
    try:
        while True:
            ctx.checkpoint()
            time.sleep(0.01)
    finally:
        mark(ctx.job_id, "stopped")


@app.task(name="bench.sleeper")
async def sleeper(ctx: corral.Context) -> None:
    mark(ctx.job_id, "started")
    try:
        await asyncio.sleep(60)
    finally:
        mark(ctx.job_id, "stopped")


@app.task(name="bench.survivor", max_attempts=3)
def survivor(ctx: corral.Context) -> None:
    mark(ctx.job_id, f"attempt-{ctx.attempt}")
    time.sleep(5)
