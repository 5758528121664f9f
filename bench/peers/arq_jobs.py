"""arq's side of the benchmark: async functions and the WorkerSettings ``arq`` loads.

``allow_abort_jobs`` is on (arq's default is off, and then ``Job.abort`` cannot stop a
running job at all); everything else is arq's default (``max_jobs`` 10, 0.5 s poll).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, ClassVar

from arq.connections import RedisSettings

from bench.peers import base


async def noop(ctx: dict[str, Any], tag: str) -> None:
    base.done(tag)


async def sleeper(ctx: dict[str, Any], tag: str) -> None:
    base.mark(tag, "started")
    try:
        await asyncio.sleep(60)
    finally:
        base.mark(tag, "stopped")


async def survivor(ctx: dict[str, Any], tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    await asyncio.sleep(120)


class WorkerSettings:
    functions: ClassVar[list[Any]] = [noop, sleeper, survivor]
    redis_settings = RedisSettings.from_dsn(os.environ.get("CORRAL_BENCH_REDIS_URL",
                                                           base.REDIS))
    allow_abort_jobs = True
    max_jobs = int(os.environ.get("CORRAL_BENCH_MAX_JOBS", "10"))
