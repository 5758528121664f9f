"""LISTEN/NOTIFY for workers.

The LISTEN runs on a long-lived connection of its own, outside the pool (a LISTEN belongs
to one session). It survives a lost connection by reconnecting, then reports "jobs" once
so the worker claims what it may have missed.
"""

from __future__ import annotations

import json
import logging
import time

import psycopg
from psycopg import sql

from corral.store import base
from corral.store.postgres import connection
from corral.store.postgres.connection import Target, connect

logger = logging.getLogger("corral.store")
SERVER_GOODBYES = frozenset({"57P01", "57P02"})
"""admin_shutdown, crash_shutdown: the server ended the session on purpose (a restart, an
operator), so losing it is expected and no warning."""


def expected_loss(exc: psycopg.OperationalError) -> bool:
    """Lost on purpose, or the server is restarting (refused for a moment): worth a line
    in the log, not a warning."""
    return (exc.sqlstate in SERVER_GOODBYES or connection.not_serving(exc)
            or "refused" in str(exc))


class PostgresListener:
    """``LISTEN corral_<schema>``; notifications carry their payload, no outbox needed."""

    address = None

    def __init__(self, target: Target, poll_interval: float = 1.0) -> None:
        self._target = target
        self._poll_interval = poll_interval
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._listen()

    def _listen(self) -> None:
        conn = connect(self._target)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._target.channel)))
        self._conn = conn

    def wait(self, timeout: float | None = None) -> list[base.Notification]:
        limit = self._poll_interval if timeout is None else min(timeout, self._poll_interval)
        try:
            if self._conn is None:
                self._listen()
                return [base.Notification(0, "jobs")]  # claim what came while away
            payloads = [n.payload for n in self._conn.notifies(timeout=limit, stop_after=1)]
            if payloads:
                payloads += [n.payload for n in self._conn.notifies(timeout=0.0005)]
        except psycopg.OperationalError as exc:
            level = logging.INFO if expected_loss(exc) else logging.WARNING
            logger.log(level, "listener lost its connection (%s); reconnecting",
                       " ".join(str(exc).split()))
            self.close()
            time.sleep(min(limit, 0.5))
            return []
        return [note for payload in payloads if (note := decode(payload)) is not None]

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def decode(payload: str) -> base.Notification | None:
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return base.Notification(
        id=0, channel=value.get("c", ""), queue=value.get("q"), worker_id=value.get("w"),
        job_ids=tuple(value.get("ids", ())), force=bool(value.get("f", False)),
    )
