"""saq's side of the benchmark: async functions and the settings ``saq`` loads (its
defaults: concurrency 10, aborts checked every second)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from saq import Queue

from bench.peers import base

queue = Queue.from_url(os.environ.get("CORRAL_BENCH_REDIS_URL", base.REDIS))


async def noop(ctx: dict[str, Any], *, tag: str) -> None:
    base.done(tag)


async def sleeper(ctx: dict[str, Any], *, tag: str) -> None:
    base.mark(tag, "started")
    try:
        await asyncio.sleep(60)
    finally:
        base.mark(tag, "stopped")


async def survivor(ctx: dict[str, Any], *, tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    await asyncio.sleep(120)


settings = {
    "queue": queue,
    "functions": [noop, sleeper, survivor],
    "concurrency": int(os.environ.get("CORRAL_BENCH_MAX_JOBS", "10")),
}
