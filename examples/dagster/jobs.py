"""Dagster jobs for the corral example: ``quick`` (three steps), ``long`` (an op that
works for minutes in small steps and cleans up in ``finally``), ``stubborn`` (an op that
ignores SIGTERM: only SIGKILL stops it); ``fanout`` and ``quick_steps`` run each step as
its own corral job (``corral_executor``). Each op writes what it did under
``CORRAL_EXAMPLE_MARKS`` (default ``./marks``), so what really ran can be counted."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from dagster import Definitions, job, op

from corral.contrib.dagster import corral_executor


def mark(name: str, text: str | None = None) -> None:
    """Write ``text`` (default: this process's pid) to the mark ``name``, whole before it
    appears: a reader that sees the mark never reads it empty."""
    folder = Path(os.environ.get("CORRAL_EXAMPLE_MARKS", "marks"))
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{name}.{os.getpid()}.tmp"
    staging.write_text(text or str(os.getpid()))
    staging.rename(folder / name)


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
    """Ignores SIGTERM and the interrupt Dagster makes of it, as C code that never returns
    to Python would: only SIGKILL stops it. Beats (a counter in a mark) while it runs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    mark("stubborn-started")
    for beat in range(6000):
        mark("stubborn-beat", str(beat))
        time.sleep(0.05)


@job
def stubborn() -> None:
    stubborn_op()


@op
def part_a() -> None:
    crunch_part("a")


@op
def part_b() -> None:
    crunch_part("b")


@op
def part_c() -> None:
    crunch_part("c")


def crunch_part(name: str) -> None:
    mark(f"part-{name}-started")
    try:
        for _ in range(6000):
            time.sleep(0.05)
    finally:
        mark(f"part-{name}-finally")


@job(executor_def=corral_executor)
def fanout() -> None:
    """Three long steps side by side, each its own corral job (``corral_executor``)."""
    part_a()
    part_b()
    part_c()


@job(executor_def=corral_executor)
def quick_steps() -> None:
    """``quick``'s three steps, each its own corral job."""
    load(transform(extract()))


defs = Definitions(jobs=[quick, long, stubborn, fanout, quick_steps])
