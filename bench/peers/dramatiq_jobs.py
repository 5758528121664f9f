"""Dramatiq's side of the benchmark: the Redis broker and three actors its worker loads."""

from __future__ import annotations

import os
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.peers import base

broker = RedisBroker(url=os.environ.get("CORRAL_BENCH_REDIS_URL", base.REDIS))
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop")
def noop(tag: str) -> None:
    base.done(tag)


@dramatiq.actor(actor_name="sleeper")
def sleeper(tag: str) -> None:
    base.mark(tag, "started")
    try:
        time.sleep(60)
    finally:
        base.mark(tag, "stopped")


@dramatiq.actor(actor_name="survivor")
def survivor(tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    time.sleep(120)
