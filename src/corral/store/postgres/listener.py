"""LISTEN/NOTIFY for workers.

The LISTEN runs on a long-lived connection of its own, outside the pool (a LISTEN belongs
to one session). It survives a lost connection by reconnecting, then reports "jobs" once
so the worker claims what it may have missed. Between waits the worker may claim on it
(``lend``); notifications that arrive meanwhile wait in psycopg's backlog for the next
``wait``.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from corral.store import base

if TYPE_CHECKING:
    from corral.store.postgres.driver import PostgresDriver

logger = logging.getLogger("corral.store")
WARN_AFTER = 5.0
"""Seconds the listener may stay disconnected before it warns: a server restart or an
operator ending sessions is over in well under a second and only noted at INFO."""


class PostgresListener:
    """``LISTEN corral_<schema>``; notifications carry their payload, no outbox needed."""

    address = None

    def __init__(self, driver: PostgresDriver, poll_interval: float = 1.0) -> None:
        self._driver = driver
        self._poll_interval = poll_interval
        self._conn: psycopg.Connection[Any] | None = None
        self._lost_at: float | None = None  # since when it is disconnected
        self._warned = False
        self._listen()

    def _listen(self) -> None:
        conn = self._driver.connect_listener()
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._driver.target.channel)))
        self._conn = conn
        if self._lost_at is not None:
            logger.info("listener reconnected after %.2fs", time.monotonic() - self._lost_at)
        self._lost_at, self._warned = None, False

    def wait(self, timeout: float | None = None) -> list[base.Notification]:
        limit = self._poll_interval if timeout is None else min(timeout, self._poll_interval)
        try:
            if self._conn is None:
                self._listen()
                return [base.Notification(0, "jobs")]  # claim what came while away
            payloads = [n.payload for n in self._conn.notifies(timeout=limit, stop_after=1)]
            if payloads:  # and whatever else has arrived, without waiting for more
                payloads += [n.payload for n in self._conn.notifies(timeout=0)]
        except psycopg.OperationalError as exc:
            self._log_loss(exc)
            self.close()
            time.sleep(min(limit, 0.5))
            return []
        return [note for payload in payloads if (note := decode(payload)) is not None]

    def _log_loss(self, exc: psycopg.OperationalError) -> None:
        reason = " ".join(str(exc).split())
        now = time.monotonic()
        if self._lost_at is None:
            self._lost_at = now
            logger.info("listener lost its connection (%s); reconnecting", reason)
        elif not self._warned and now - self._lost_at > WARN_AFTER:
            self._warned = True
            logger.warning("listener cannot reconnect for %.0fs: %s", now - self._lost_at,
                           reason)

    def lend(self) -> AbstractContextManager[None] | None:
        return None if self._conn is None else self._driver.lending(self._lent)

    def _lent(self) -> psycopg.Connection[Any] | None:
        """The listening connection for a statement, unless it broke (then the pool's,
        until the next ``wait`` reconnects)."""
        conn = self._conn
        return conn if conn is not None and not conn.broken else None

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
