"""Celery's side of the benchmark: the app its worker loads (Redis broker, no result
backend: Celery's defaults), with the three tasks."""

from __future__ import annotations

import os
import time

from celery import Celery

from bench.peers import base

app = Celery("bench", broker=os.environ.get("CORRAL_BENCH_REDIS_URL", base.REDIS))


@app.task(name="noop")
def noop(tag: str) -> None:
    base.done(tag)


@app.task(name="sleeper")
def sleeper(tag: str) -> None:
    base.mark(tag, "started")
    try:
        time.sleep(60)
    finally:
        base.mark(tag, "stopped")


@app.task(name="survivor")
def survivor(tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    time.sleep(120)
