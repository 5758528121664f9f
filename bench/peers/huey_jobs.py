"""Huey's side of the benchmark: the RedisHuey instance its consumer loads, three tasks."""

from __future__ import annotations

import os
import time

from huey import RedisHuey

from bench.peers import base

huey = RedisHuey("bench", url=os.environ.get("CORRAL_BENCH_REDIS_URL", base.REDIS))


@huey.task()
def noop(tag: str) -> None:
    base.done(tag)


@huey.task()
def sleeper(tag: str) -> None:
    base.mark(tag, "started")
    try:
        time.sleep(60)
    finally:
        base.mark(tag, "stopped")


@huey.task()
def survivor(tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    time.sleep(120)
