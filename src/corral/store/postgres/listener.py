"""LISTEN/NOTIFY for workers, and the advisory lock that says a worker is alive.

Each runs on its own long-lived connection, outside the pool: a LISTEN and a session lock
belong to one session. Both survive a lost connection by reconnecting: the listener then
reports "jobs" once so the worker claims what it may have missed; the liveness lock is
taken again by ``ensure()``, which the heartbeat calls.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time

import psycopg
from psycopg import sql

from corral import errors
from corral.store import base
from corral.store.postgres.connection import Target

logger = logging.getLogger("corral.store")
LOCK_WAIT = 15.0


def connect(target: Target) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(target.conninfo, autocommit=True, options=target.options,
                           application_name=target.application_name, keepalives=1,
                           keepalives_idle=5, keepalives_interval=2, keepalives_count=3)


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
        except psycopg.OperationalError:
            logger.warning("listener lost its connection; reconnecting")
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


class AdvisoryLiveness:
    """A session advisory lock on the worker's own connection: the server frees it the
    moment the connection drops, so every host sees the death at once."""

    def __init__(self, target: Target, key: int) -> None:
        self._target = target
        self._key = key
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock()

    def _lock(self) -> None:
        conn = connect(self._target)
        deadline = time.monotonic() + LOCK_WAIT
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0]:  # type: ignore[index]
            if time.monotonic() > deadline:
                conn.close()
                raise errors.StoreError("another live worker holds this worker id's lock")
            time.sleep(0.1)
        self._conn = conn

    def ensure(self) -> None:
        """Take the lock again if its connection was lost (e.g. a server restart)."""
        try:
            if self._conn is not None:
                self._conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            logger.warning("liveness connection lost; taking the lock again")
        self.release()
        self._lock()

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            # unlock first: closing frees the lock too, but only once the server's backend
            # has noticed, which a reaper asking right after may beat
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        self._conn = None
