"""Dagster jobs for the corral example: ``quick`` (three steps), ``long`` (an op that
works for minutes in small steps and cleans up in ``finally``), ``stubborn`` (an op that
swallows the interrupt: only SIGKILL stops it). Each op writes what it did under
``CORRAL_EXAMPLE_MARKS`` (default ``./marks``), so what really ran can be counted."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagster import Definitions, job, op


def mark(name: str) -> None:
    folder = Path(os.environ.get("CORRAL_EXAMPLE_MARKS", "marks"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(str(os.getpid()))


@op
def extract() -> int:
    mark("extract")
    return 21


@op
def transform(value: int) -> int:
    mark("transform")
    return value * 2


@op
def load(value: int) -> None:
    mark(f"load-{value}")


@job
def quick() -> None:
    load(transform(extract()))


@op
def crunch() -> None:
    """Minutes of work in small steps; ``finally`` cleans up whatever stops it."""
    mark("crunch-started")
    try:
        for _ in range(6000):
            time.sleep(0.05)
    finally:
        mark("crunch-finally")


@job
def long() -> None:
    crunch()


@op
def stubborn_op() -> None:
    """Ignores the interrupt Dagster raises on SIGTERM (as C code holding the GIL would)."""
    mark("stubborn-started")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            mark("stubborn-interrupted")


@job
def stubborn() -> None:
    stubborn_op()


defs = Definitions(jobs=[quick, long, stubborn])
