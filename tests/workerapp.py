"""Tasks the tests run in real worker processes.

``register(app)`` adds them to any app, so a test's client app and the worker process's
app share names. Tasks leave marker files in ``CORRAL_TEST_MARKS`` (``<job_id>.<what>``)
so tests can see what the code really did.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import corral


def marks_dir() -> Path:
    return Path(os.environ.get("CORRAL_TEST_MARKS", "."))


def mark(job_id: str, what: str, text: str = "") -> None:
    """Written whole (a file renamed into place): a test that sees the mark can read its
    text (a pid read from a mark just created was once still empty)."""
    path = marks_dir() / f"{job_id}.{what}"
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    part.write_text(text)
    os.replace(part, path)


def register(app: corral.Corral) -> SimpleNamespace:
    @app.task(name="noop")
    def noop(value: object = None) -> object:
        return value

    @app.task(name="record")
    def record(ctx: corral.Context, n: int) -> int:
        """Appends its job id to executions.log (O_APPEND: one line per execution)."""
        with open(marks_dir() / "executions.log", "a") as log:
            log.write(f"{ctx.job_id}\n")
        return n

    @app.task(name="chaos", max_attempts=50)
    def chaos(ctx: corral.Context, n: int, ms: float = 2.0) -> int:
        """Like record, with a little work and attempts to spare for killed workers."""
        with open(marks_dir() / "executions.log", "a") as log:
            log.write(f"{ctx.job_id}\n")
        time.sleep(ms / 1000)
        return n

    @app.task(name="survivor", max_attempts=3)
    def survivor(ctx: corral.Context, seconds: float = 3.0) -> int:
        """Runs ``seconds`` with checkpoints; marks each attempt's start and end."""
        mark(ctx.job_id, f"started-{ctx.attempt}", ctx.job.worker_id or "")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ctx.checkpoint()
            time.sleep(0.01)
        mark(ctx.job_id, f"returned-{ctx.attempt}")
        return ctx.attempt

    @app.task(name="quick")
    def quick(ms: float = 1.0) -> float:
        time.sleep(ms / 1000)
        return ms

    @app.task(name="interval")
    def interval(ctx: corral.Context, ms: float = 30.0) -> None:
        """Records when it ran (start and end, wall clock) with its limit key, so tests can
        compute the most jobs that ever ran at once."""
        started = time.time()
        time.sleep(ms / 1000)
        mark(ctx.job_id, "interval", f"{started} {time.time()} {ctx.job.limit_key or ''}")

    def span_body(ctx: corral.Context, seconds: float = 1.0) -> int:
        """Appends ``<job id> <pid> <start> <end>`` to spans.log when it stops (returned or
        stopped: ``finally``), so tests can find overlapping runs."""
        started = time.time()
        mark(ctx.job_id, f"began{ctx.attempt}")
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                ctx.checkpoint()
                time.sleep(0.01)
            return ctx.attempt
        finally:
            with open(marks_dir() / "spans.log", "a") as log:
                log.write(f"{ctx.job_id} {os.getpid()} {started} {time.time()}\n")

    span = app.task(name="span")(span_body)  # one attempt only
    span_retry = app.task(name="span_retry", max_attempts=3)(span_body)

    @app.task(name="ticker", phases=["ingest", "digest", "commit"])
    def ticker(ctx: corral.Context, name: str, steps: int = 20, step: float = 0.01) -> dict:
        mark(ctx.job_id, "started")
        with ctx.phase("ingest"):
            for i in range(steps):
                ctx.progress(i + 1, steps, f"{name}: ingest {i + 1}")
                time.sleep(step)
        with ctx.phase("digest"):
            for i in range(steps):
                ctx.progress(i + 1, steps, f"{name}: digest {i + 1}")
                ctx.save({"name": name, "digested": i + 1})
                time.sleep(step)
        with ctx.phase("commit"), ctx.shield():
            time.sleep(step)
        return {"name": name, "digested": steps}

    @app.task(name="spin")
    def spin(ctx: corral.Context, seconds: float = 60.0) -> str:
        """Checks for cancel every 10 ms."""
        mark(ctx.job_id, "started")
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                ctx.checkpoint()
                time.sleep(0.01)
            return "done"
        finally:
            mark(ctx.job_id, "finally")

    @app.task(name="async_sleep")
    async def async_sleep(ctx: corral.Context, seconds: float = 60.0) -> str:
        mark(ctx.job_id, "started")
        try:
            await asyncio.sleep(seconds)
            return "done"
        finally:
            mark(ctx.job_id, "finally")

    @app.task(name="shielded")
    def shielded(ctx: corral.Context, seconds: float = 0.5) -> str:
        mark(ctx.job_id, "started")
        with ctx.shield():
            time.sleep(seconds)
            ctx.checkpoint()  # a no-op inside the shield
            mark(ctx.job_id, "shield_done")
        mark(ctx.job_id, "after_shield")
        return "done"

    @app.task(name="stubborn")
    def stubborn(ctx: corral.Context, seconds: float = 1.0) -> str:
        """Never checks: only force can end it early (the thread still runs out)."""
        mark(ctx.job_id, "started")
        time.sleep(seconds)
        mark(ctx.job_id, "returned")
        return "done"

    @app.task(name="boom")
    def boom(message: str = "boom") -> None:
        raise ValueError(message)

    @app.task(name="keyed", limit_key=lambda user, ms=30.0: f"user-{user}", key_limit=2)
    def keyed(ctx: corral.Context, user: str, ms: float = 30.0) -> None:
        """``interval`` with the task's own limit key: at most 2 per user at once."""
        interval(ctx, ms)

    @app.task(name="keyed_badly", limit_key=lambda user: user["id"])
    def keyed_badly(user: object) -> None:
        """Its limit_key callable raises (TypeError) on a plain string."""

    @app.task(name="stubborn_quick_grace", cancel_grace="0.3")
    def stubborn_quick_grace(ctx: corral.Context, seconds: float = 5.0) -> str:
        """``stubborn`` with its own short cancel_grace (thread: flagged unresponsive)."""
        return stubborn(ctx, seconds)

    return SimpleNamespace(
        noop=noop, record=record, chaos=chaos, survivor=survivor, quick=quick, ticker=ticker,
        spin=spin, async_sleep=async_sleep, shielded=shielded, stubborn=stubborn, boom=boom,
        interval=interval, span=span, span_retry=span_retry, keyed=keyed,
        keyed_badly=keyed_badly, stubborn_quick_grace=stubborn_quick_grace,
    )


app = corral.Corral()
tasks = register(app)


def register_isolated(app: corral.Corral) -> SimpleNamespace:
    """Tasks that run in a child process (``isolation="process"``)."""

    @app.task(name="isolated_sleep", isolation="process")
    def isolated_sleep(ctx: corral.Context, seconds: float = 3600.0) -> str:
        """A plain sleep: never checks, so only the kill can stop it early."""
        mark(ctx.job_id, "started", str(os.getpid()))
        time.sleep(seconds)
        mark(ctx.job_id, "returned")
        return "slept"

    @app.task(name="isolated_ticker", isolation="process", phases=["work"])
    def isolated_ticker(ctx: corral.Context, steps: int = 10) -> dict:
        mark(ctx.job_id, "started", str(os.getpid()))
        with ctx.phase("work"):
            for i in range(steps):
                ctx.progress(i + 1, steps, f"step {i + 1}")
                ctx.save({"done": i + 1})
                time.sleep(0.01)
        return {"pid": os.getpid(), "steps": steps}

    @app.task(name="isolated_boom", isolation="process")
    def isolated_boom() -> None:
        raise KeyError("from the child")

    @app.task(name="isolated_quick_grace", isolation="process", cancel_grace="0.5")
    def isolated_quick_grace(ctx: corral.Context, seconds: float = 3600.0) -> str:
        """``isolated_sleep`` with its own cancel_grace, shorter than the worker's."""
        mark(ctx.job_id, "started", str(os.getpid()))
        time.sleep(seconds)
        mark(ctx.job_id, "returned")
        return "slept"

    return SimpleNamespace(isolated_sleep=isolated_sleep, isolated_ticker=isolated_ticker,
                           isolated_boom=isolated_boom,
                           isolated_quick_grace=isolated_quick_grace)


isolated = register_isolated(app)
