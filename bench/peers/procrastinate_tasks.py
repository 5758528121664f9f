"""procrastinate's side of the benchmark: the App its worker loads, with the three tasks.

The sleeper is async so ``cancel_job_by_id(..., abort=True)`` (a NOTIFY to the worker,
which cancels the job's asyncio task) stops it, procrastinate's documented way.
"""

from __future__ import annotations

import asyncio
import os
import time

from procrastinate import App, PsycopgConnector

from bench.peers import base

app = App(connector=PsycopgConnector(
    conninfo=os.environ.get("CORRAL_BENCH_PEER_POSTGRES", base.POSTGRES)))


@app.task(name="noop")
async def noop(tag: str) -> None:
    base.done(tag)


@app.task(name="sleeper")
async def sleeper(tag: str) -> None:
    base.mark(tag, "started")
    try:
        await asyncio.sleep(60)
    finally:
        base.mark(tag, "stopped")


@app.task(name="survivor")
async def survivor(tag: str) -> None:
    base.mark(tag, f"attempt-{os.getpid()}-{time.time_ns()}")
    await asyncio.sleep(120)
