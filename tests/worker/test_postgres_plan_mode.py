"""A worker on PostgreSQL spends no round trip switching plan modes.

The hot statements run with ``force_generic_plan`` and listings with the default, and a
pooled connection is switched by a ``SET`` when the next statement needs the other mode:
one more round trip in front of that statement. When the worker's idle look at limited
work ran in the default mode, 30% of claims and 80% of outcomes on the end-to-end path
paid it, since every pooled connection went back and forth.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

import corral
from corral.store.postgres.driver import GENERIC_PLANS, Q
from corral.worker.worker import Worker
from tests.waiting import wait_until

NAMES = {text: name for name, text in Q.items()}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_worker_runs_jobs_and_idles_without_a_plan_mode_switch(
    app: corral.Corral, tasks: SimpleNamespace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every thread started from here on is the worker's (its loops run their first
    # statements before start() returns)
    before = {thread.ident for thread in threading.enumerate()}
    ran: list[tuple[int, str]] = []  # the worker's statements: thread, name
    execute: Callable[..., Any] = psycopg.Connection.execute

    def watched(conn: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() not in before:
            ran.append((threading.get_ident(), NAMES.get(query, str(query))
                        if isinstance(query, str) else str(query)))
        return execute(conn, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", watched)
    worker = Worker(app, concurrency=4)
    worker.start()
    try:
        for handle in [tasks.noop.enqueue() for _ in range(20)]:
            assert handle.wait(timeout=30).status == "completed"
        # then idle: empty claims look at limited work; the reaper looks for the dead
        wait_until(lambda: {"limited_work", "dead_workers", "has_orphans"}
                   <= {name for _, name in ran[-50:]}, timeout=30,
                   message="the worker's idle rounds")
    finally:
        worker.stop(wait=True)
    names = [name for _, name in ran]
    assert {"claim_jobs", "finish_running"} <= set(names)
    switched_for = [following(ran, i) for i, name in enumerate(names)
                    if name.startswith("SET plan_cache_mode")]
    # Only the retention pruner needs the default mode (a range of finished_at, whose
    # plan depends on the value): its connection switches there, and back for the next
    # statement it serves, once per round.
    assert {name for name in switched_for if name not in GENERIC_PLANS} <= {"prune_jobs"}
    assert len([name for name in switched_for if name in GENERIC_PLANS]) <= names.count(
        "prune_jobs")


def following(ran: list[tuple[int, str]], index: int) -> str | None:
    """The statement the same thread ran after ``ran[index]``."""
    thread = ran[index][0]
    return next((name for other, name in ran[index + 1:] if other == thread), None)
