"""pgqueuer's side of the benchmark: the factory ``pgq run`` calls, with the three tasks.

The cancel-able sleeper awaits inside the job's ``ctx.cancellation`` scope, pgqueuer's
documented way to let ``mark_job_as_cancelled`` (NOTIFY) stop a running async job.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from pgqueuer import PgQueuer
from pgqueuer.models import Context, Job

from bench.peers import base


@asynccontextmanager
async def main() -> AsyncIterator[PgQueuer]:
    connection = await psycopg.AsyncConnection.connect(
        os.environ["CORRAL_BENCH_PEER_POSTGRES"], autocommit=True)
    pgq = PgQueuer.from_psycopg_connection(connection)

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        base.done(_tag(job))

    @pgq.entrypoint("sleeper", accepts_context=True)
    async def sleeper(job: Job, ctx: Context) -> None:
        tag = _tag(job)
        base.mark(tag, "started")
        try:
            with ctx.cancellation:
                await asyncio.sleep(60)
        finally:
            base.mark(tag, "stopped")

    @pgq.entrypoint("survivor")
    async def survivor(job: Job) -> None:
        base.mark(_tag(job), f"attempt-{os.getpid()}-{time.time_ns()}")
        await asyncio.sleep(120)

    try:
        yield pgq
    finally:
        await connection.close()


def _tag(job: Job) -> str:
    return (job.payload or b"").decode()
