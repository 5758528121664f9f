"""The advisory lock that says a PostgreSQL worker is alive, kept through connection loss.

A session advisory lock lives on one connection: the server frees it the moment that
connection ends, which is how every host learns at once that a ``kill -9``-ed worker is
gone. But a connection also ends while its process lives (``pg_terminate_backend``, a
server restart, a proxy reset). So a live worker must take its lock again at once, and the
reaper must not trust a single free sighting (the ``dead_workers`` query wants the lock
free at two sightings ``LOCK_CONFIRM`` seconds apart, with no re-take between: a re-take
clears the sighting, here, on the lock's own connection).

A watcher thread pings the lock's connection every ``PING_EVERY`` seconds; every answered
ping proves the lock was held at the moment it was sent. Once the connection is known lost
(an error, a reset), ``unconfirmed_for`` is the time since the last proof: the worker
fences itself (stops its jobs) well before it reaches ``LOCK_CONFIRM``, so a worker that
cannot take its lock back (a dead proxy, no free connection slot) has stopped its jobs
before any reaper may recover them. A ping that merely goes unanswered (a partition) is
not a loss: the server still holds the session and its lock, and the heartbeat's lease
fence decides, as the reaper's lease does.
While the server says it serves nobody (starting up, shutting down), no reaper can see the
lock either, and after a restart the reaper gives workers ``RESTART_GRACE`` before trusting
free locks: those answers count as proof too. A refused connection does not (a dead proxy
in front of a live server refuses too); a restart refuses for about 0.1 s here.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time

import psycopg

from corral import errors
from corral.store import migrate
from corral.store.postgres import connection
from corral.store.postgres.connection import CONNECT_TIMEOUT, Target, connect

logger = logging.getLogger("corral.store")
Q = migrate.load_queries("corral.store.postgres")
LOCK_WAIT = 15.0
"""Seconds a starting worker waits for its id's lock (a previous process may be exiting)."""
LOCK_CONFIRM = 0.6
"""Seconds between two free sightings of a worker's lock before the reaper calls it dead:
how long a live worker has to take its lock back. A ``kill -9``-ed worker's jobs are
recovered this much later than its death, plus up to one reaper interval for the first
sighting (the reaper looks again exactly when the second is due: ``confirm_in``). A live
worker that lost its lock has fenced itself by then: FENCE_AFTER after its last proof,
itself at most PING_EVERY before the loss, checked every 0.05 s (0.35 s < 0.6 s)."""
RESTART_GRACE = 5.0
"""Seconds after the server starts during which no worker is dead by its lock alone: after
a restart every worker reconnects at once, and a connection storm may slow some."""
FENCE_AFTER = 0.4
"""Seconds without proof of the lock after which the worker stops its own jobs: less than
LOCK_CONFIRM, so they stop before a reaper may recover them."""
PING_EVERY = 0.1
RETRY_EVERY = 0.02
"""Seconds between attempts to take the lock back (a reaper's probe holds it for the
length of its transaction, about a millisecond)."""

Conn = psycopg.Connection[tuple[object, ...]]


class AdvisoryLiveness:
    """A worker's session advisory lock, re-taken by a watcher thread whenever its
    connection is lost."""

    fence_after = FENCE_AFTER

    def __init__(self, target: Target, key: int, worker_id: str) -> None:
        self._target = target
        self._key = key
        self._worker_id = worker_id
        self._closing = threading.Event()
        self._conn: Conn | None = self._first_lock()  # the watcher's after this
        # written by the watcher thread, read by the fence: the last proof, and whether
        # the connection is known lost since
        self._confirmed_at = time.monotonic()
        self._lost = False
        self._thread = threading.Thread(target=self._watch, name="corral-liveness",
                                        daemon=True)
        self._thread.start()

    def unconfirmed_for(self, now: float) -> float:
        """Seconds since the lock was last proven held, once its connection is known lost
        (``now`` is ``time.monotonic()``); 0 while the connection stands."""
        return max(0.0, now - self._confirmed_at) if self._lost else 0.0

    def release(self) -> None:
        self._closing.set()
        self._thread.join(timeout=CONNECT_TIMEOUT + 1)
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            # unlock first: closing frees the lock too, but only once the server's backend
            # has noticed, which a reaper asking right after may beat
            conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        with contextlib.suppress(psycopg.Error):
            conn.close()

    # -- the watcher thread ------------------------------------------------------------

    def _first_lock(self) -> Conn:
        conn = connect(self._target)
        deadline = time.monotonic() + LOCK_WAIT
        while not self._try_lock(conn):
            if time.monotonic() > deadline:
                conn.close()
                raise errors.StoreError("another live worker holds this worker id's lock")
            time.sleep(0.1)
        return conn

    def _try_lock(self, conn: Conn) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        return bool(row and row[0])

    def _watch(self) -> None:
        while not self._closing.is_set():
            conn = self._conn
            if conn is not None and self._ping(conn):
                continue
            lost_at = time.monotonic()
            self._lost = True
            logger.info("worker %s: liveness connection lost; taking the lock again",
                        self._worker_id)
            self._drop()
            if self._retake():
                logger.info("worker %s: liveness lock held again after %.3fs",
                            self._worker_id, time.monotonic() - lost_at)

    def _ping(self, conn: Conn) -> bool:
        """Wait up to PING_EVERY (a dying connection speaks first: the server's goodbye),
        then prove the lock's session is still there."""
        sent = time.monotonic()
        try:
            select.select([conn.fileno()], [], [], PING_EVERY)
            conn.execute("SELECT 1")
        except (psycopg.Error, OSError, ValueError):
            return False
        self._confirmed_at = sent
        return True

    def _retake(self) -> bool:
        """Connect and take the lock again; clear any free sighting a reaper recorded
        meanwhile (it could only record one while the lock was free, so before this)."""
        while not self._closing.is_set():
            attempt = time.monotonic()
            try:
                conn = connect(self._target)
            except psycopg.OperationalError as exc:
                if connection.not_serving(exc):
                    self._confirmed_at = attempt  # no reaper can see the lock either
                self._closing.wait(RETRY_EVERY)
                continue
            try:
                while not self._closing.is_set():
                    if self._try_lock(conn):
                        conn.execute(Q["clear_lock_sighting"], {"id": self._worker_id})
                        self._conn, self._confirmed_at = conn, attempt
                        self._lost = False
                        return True
                    self._closing.wait(RETRY_EVERY)
            except psycopg.Error:
                pass
            with contextlib.suppress(psycopg.Error):
                conn.close()
        return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
