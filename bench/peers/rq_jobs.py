"""RQ's side of the benchmark: plain functions its work horses import and run."""

from __future__ import annotations

import time

from bench.peers import base


def noop(tag: str) -> None:
    base.done(tag)


def sleeper(tag: str) -> None:
    base.mark(tag, "started")
    try:
        time.sleep(60)
    finally:
        base.mark(tag, "stopped")


def survivor(tag: str) -> None:
    base.mark(tag, f"attempt-{time.time_ns()}")
    time.sleep(120)
