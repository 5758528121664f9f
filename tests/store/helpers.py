"""Helpers the store contract files share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from corral.status import TRANSITIONS, JobStatus
from corral.store import Store
from corral.store.base import Listener, Notification
from corral.store.postgres import connection


def statuses(store: Store, *ids: str) -> list[JobStatus]:
    return [store.get_job(i).status for i in ids]  # type: ignore[union-attr]


def assert_trail_follows_state_machine(store: Store, job_id: str) -> None:
    for event in store.job_events(job_id):
        if event.to_status is not None:
            assert (event.from_status, event.to_status) in TRANSITIONS, event


def listen_for(listener: Listener, wanted: Callable[[Notification], bool]) -> Notification:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for note in listener.wait(timeout=0.5):
            if wanted(note):
                return note
    raise AssertionError("no such notification within 10 s")


def postgres_session(db_url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain session on the test's schema, outside corral: what an operator's psql is."""
    target = connection.parse(db_url)
    return psycopg.connect(target.conninfo, autocommit=True,
                           options=f"-c search_path={target.schema}")
