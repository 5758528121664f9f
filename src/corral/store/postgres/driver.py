"""PostgreSQL driver: psycopg 3 with a connection pool, ``LISTEN/NOTIFY`` wake-ups and
session advisory locks for liveness.

Each write is one transaction on a pooled connection, or a single autocommit statement
when the engine says one statement is the whole write (enqueue, claim and heartbeat are
one round trip each). Connections are not checked on every checkout (that would double
the round trips); a connection lost mid-call (server restart, ``pg_terminate_backend``)
fails the call, the pool's idle connections are checked, and the whole operation is run
again (``call``): every transition is guarded and enqueue is idempotent, so that is safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from corral import errors
from corral.job import JSON
from corral.store import base, migrate
from corral.store.changes import FEED_STALE_AFTER
from corral.store.postgres import changes, connection, listener, liveness, loaders

P = ParamSpec("P")
R = TypeVar("R")
Q = migrate.load_queries("corral.store.postgres")
MIGRATIONS = migrate.load_migrations("corral.store.postgres")
RETRIES = 8
QUIET_RETRIES = 3  # retries logged at INFO before a failing call warns
IDS_PER_NOTIFY = 100  # NOTIFY payloads must stay under 8000 bytes
MIGRATION_LOCK = 0x636F7272616C  # "corral": serializes concurrent migrations
STALE_PLAN = "cached plan must not change result type"
GENERIC_PLANS = frozenset({
    # enqueue, claim, outcome, cancel, progress, heartbeat, a job's page
    "insert_jobs", "insert_events", "notify", "claim_jobs", "finish_running", "statuses_of",
    "finish_jobs", "cancel_jobs", "cancel_now", "record_progress", "heartbeat", "get_job",
    "job_events", "save_result", "mark_stalled", "mark_unresponsive",
    # what a worker's loops run besides: the idle claim's look at limited work, the
    # reaper's checks, the pruners, registration
    "limited_work", "has_orphans", "dead_workers", "any_finished_batch", "register_worker",
    "prune_workers", "prune_ticks", "prune_signals"})
"""Statements run with ``plan_cache_mode = force_generic_plan``: their plan does not
depend on the values (a primary key, the claim index, no filter at all), yet PostgreSQL
kept re-planning the claim at every execution (its custom plans looked cheaper than the
generic one): 0.9 ms of planning in a 1.1 ms claim. Connections start in that mode, and
every statement a worker runs is here, so a worker never spends a round trip on a ``SET``
(with its idle look at limited work outside the set, 30% of claims and 80% of outcomes on
the end-to-end path paid one). The other statements (listings, counts: their optional
filters need the values to pick an index) switch their connection back with a ``SET``."""
TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK
IDLE = psycopg.pq.TransactionStatus.IDLE
KEEP_FOR = 600.0  # seconds a writer keeps one pooled connection (KeptConnection)
logger = logging.getLogger("corral.store")
Conn = psycopg.Connection[dict[str, Any]]


def _param(value: Any) -> Any:
    """A parameter as the queries take it: record lists as JSON text, other lists as
    arrays, everything else as psycopg adapts it."""
    if isinstance(value, list | tuple):
        return json.dumps(value) if value and isinstance(value[0], dict) else list(value)
    return value


def _time(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


class _Tx:
    """Statements on one pooled connection (in a transaction unless one statement)."""

    def __init__(self, driver: PostgresDriver, conn: Conn) -> None:
        self._driver = driver
        self._conn = conn
        self._woken: set[str] = set()  # queues a statement already notified in SQL

    def _execute(self, query: str, params: dict[str, Any]) -> psycopg.Cursor[dict[str, Any]]:
        values = {key: _param(value) for key, value in params.items()}
        values.update(self._driver.constants)
        generic = query in GENERIC_PLANS
        if generic != (self._conn in self._driver.generic):  # a SET only when it changes
            self._conn.execute("SET plan_cache_mode = " + ("force_generic_plan" if generic
                                                         else "auto"))
            (self._driver.generic.add if generic else self._driver.generic.discard)(self._conn)
        return self._conn.execute(Q[query], values)

    def rows(self, query: str, **params: Any) -> list[Any]:
        return self._fetched(self._execute(query, params))

    def rows_many(self, query: str, param_sets: Iterable[dict[str, Any]]) -> list[Any]:
        """In pipeline mode: each statement goes out as soon as its parameters are made,
        and the server runs it while the next ones are (``enqueue_many`` of 10,000 jobs:
        30.4-30.6k jobs/s in statements of 1,000, against 23.2-24.2k as one statement)."""
        with self._conn.pipeline():
            cursors = [self._execute(query, params) for params in param_sets]
        return [row for cursor in cursors for row in self._fetched(cursor)]

    def _fetched(self, cursor: psycopg.Cursor[dict[str, Any]]) -> list[Any]:
        """The statement's rows, if it returns any. Asked of the result's status, not of
        ``cursor.description``: psycopg builds a ``Column`` per column for that (a claim's
        33: ~12% of its client time)."""
        result = cursor.pgresult
        rows = cursor.fetchall() if result and result.status == TUPLES_OK else []
        if rows and "woke" in rows[0]:
            self._woken.update(row["woke"] for row in rows if row["woke"])
        return rows

    def count(self, query: str, **params: Any) -> int:
        return self._execute(query, params).rowcount

    def wake(self, queues: Iterable[str]) -> None:
        for queue in sorted(set(queues) - self._woken):
            self._notify({"c": "jobs", "q": queue})

    def stop(self, worker_id: str, job_ids: Sequence[str], force: bool) -> None:
        for start in range(0, len(job_ids), IDS_PER_NOTIFY):
            self._notify({"c": "cancel", "w": worker_id, "f": force,
                          "ids": list(job_ids[start:start + IDS_PER_NOTIFY])})

    def _notify(self, payload: dict[str, JSON]) -> None:
        """Delivered when the transaction commits (at once for a lone statement)."""
        self.rows("notify", payload=json.dumps(payload))


class KeptConnection:
    """A pooled connection that one writer keeps between its writes (a worker's claimer;
    its recorder: one writer at a time, whichever thread), lent to the writing thread
    (``lending``). Taken from the pool for each write, it cost the pool's bookkeeping
    every time and came from the backend idle longest (the pool is first in, first out):
    kept, a drain on one worker process went from 5,173 to 5,901 jobs/s.

    A connection broken or left inside a transaction goes back to the pool (which
    discards or resets it) and the next write takes another; so does one kept
    ``KEEP_FOR`` seconds, so that the pool's ``max_lifetime`` still renews it."""

    def __init__(self, driver: PostgresDriver, pool: ConnectionPool[Conn]) -> None:
        self._driver = driver
        self._pool = pool
        self._conn: Conn | None = None
        self._taken_at = 0.0
        self._released = False  # after release(), writes use the pool as anyone's do

    def lend(self) -> AbstractContextManager[None]:
        return self._driver.lending(self._take)

    def _take(self) -> Conn | None:
        conn = self._conn
        if conn is not None and (conn.info.transaction_status != IDLE  # or broken
                                 or time.monotonic() - self._taken_at > KEEP_FOR):
            self._give_back()
            conn = None
        if conn is None and not self._released:
            conn = self._conn = self._pool.getconn()
            self._taken_at = time.monotonic()
        return conn

    def release(self) -> None:
        self._released = True
        self._give_back()

    def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.putconn(conn)


class PostgresDriver:
    """The PostgreSQL backend (``postgresql://user@host/db?schema=name``);
    ``corral.store.engine`` holds the rules."""

    single_writer = False
    cancel_at_once = IDS_PER_NOTIFY  # cancel_now's NOTIFY lists them all

    def __init__(self, url: str) -> None:
        self.url = url
        self.target = connection.parse(url)
        self.constants = {"channel": self.target.channel,
                          "claim_lock": self.target.lock_key("::claim-limits")}
        self.generic: weakref.WeakSet[Conn] = weakref.WeakSet()
        """Connections whose session has ``force_generic_plan`` (``GENERIC_PLANS``): all
        at first, until a statement outside the set switches one back."""
        try:  # fail fast, with the server's reason, rather than after the pool's timeout
            psycopg.connect(self.target.conninfo, options=self.target.options,
                            connect_timeout=5).close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise errors.StoreError(f"cannot connect to PostgreSQL: {reason}", url=url) from exc
        self._lent = threading.local()  # a thread's connection lent by its listener
        self._pool = ConnectionPool(
            self.target.conninfo, min_size=1, max_size=32, open=False,
            kwargs={"row_factory": dict_row, **connection.session_settings(self.target)},
            name=f"corral-{self.target.schema}",
            configure=self._configure,
        )
        try:
            self._pool.open(wait=True, timeout=10)
        except PoolTimeout as exc:
            self._pool.close()
            raise errors.StoreError(f"cannot connect to PostgreSQL at {url}", url=url) from exc

    # -- connections and transactions -------------------------------------------------------

    def _configure(self, conn: Conn) -> None:
        """A new pooled connection: tolerant loaders (one bad value never fails a whole
        fetch), and known to be in ``force_generic_plan`` mode (its ``options``)."""
        loaders.register(conn)
        self.generic.add(conn)

    def connect_listener(self) -> Conn:
        """A connection of its own for a worker's LISTEN, set up as a pooled one: the
        listener also lends it for a claim (``lending``): its backend has just delivered
        a notification and is awake (a claim on it right after the NOTIFY took 0.45-0.5 ms
        less than on a pooled connection whose backend had slept since the last job)."""
        conn = connection.connect(self.target, row_factory=dict_row)
        self._configure(conn)
        return conn

    @contextmanager
    def lending(self, source: Callable[[], Conn | None]) -> Iterator[None]:
        """This thread's statements inside the block run on the connection ``source``
        gives (the listener's, a kept one), or on a pooled one while it gives None. Asked
        afresh for each statement block, so a connection that broke is left for the pool
        (the listener's) or replaced (a kept one)."""
        self._lent.source = source
        try:
            yield
        finally:
            self._lent.source = None

    def keep_connection(self) -> KeptConnection:
        return KeptConnection(self, self._pool)

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection, or the one lent to this thread. A statement it prepared
        before a migration changed a table's columns (a newer process migrated while
        this one runs) fails once with STALE_PLAN: its prepared statements are dropped
        (psycopg notices DEALLOCATE ALL, and a rolled-back transaction) so that the
        retry prepares them again."""
        source: Callable[[], Conn | None] | None = getattr(self._lent, "source", None)
        lent = source() if source is not None else None
        with nullcontext(lent) if lent is not None else self._pool.connection() as conn:
            try:
                yield conn
            except psycopg.errors.FeatureNotSupported as exc:
                if STALE_PLAN in str(exc) and not conn.closed:
                    conn.execute("DEALLOCATE ALL")
                raise

    @contextmanager
    def write(self, *, one_statement: bool = False, dry_run: bool = False) -> Iterator[_Tx]:
        """(Pipeline mode was measured slower for these short transactions: 1,490 vs
        1,770 jobs/s draining on one worker.)"""
        with self.connection() as conn:
            if one_statement and not dry_run:
                yield _Tx(self, conn)
                return
            with conn.transaction(force_rollback=dry_run):
                yield _Tx(self, conn)

    def cancel_now(self, **params: Any) -> list[Any]:
        with self.write(one_statement=True) as tx:
            return tx.rows("cancel_now", **params)

    def read(self, query: str, **params: Any) -> list[Any]:
        with self.connection() as conn:
            return _Tx(self, conn).rows(query, **params)

    def call(self, operation: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``operation``, again on a fresh connection while the connection breaks. A
        value PostgreSQL cannot store (a NUL character in text or JSON) is the caller's
        error; a constraint no guard foresaw is a StoreError, never a driver exception
        (an HTTP 500)."""
        delay = 0.05
        for attempt in range(RETRIES):
            try:
                return operation(*args, **kwargs)
            except psycopg.DataError as exc:
                reason = " ".join(str(exc).split())
                raise errors.InvalidArguments(f"PostgreSQL cannot take this value: {reason}"
                                              ) from exc
            except UnicodeEncodeError as exc:  # a lone surrogate: not text
                raise errors.InvalidArguments(f"not storable as text: {exc}") from exc
            except psycopg.IntegrityError as exc:
                reason = " ".join(str(exc).split())
                raise errors.StoreError(f"PostgreSQL refused the write: {reason}",
                                        sqlstate=exc.sqlstate) from exc
            except psycopg.errors.FeatureNotSupported as exc:
                if STALE_PLAN not in str(exc) or attempt == RETRIES - 1:
                    raise
                logger.info("a migration changed a table under a prepared statement; "
                            "preparing again")
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if attempt == RETRIES - 1:
                    raise errors.StoreError(f"PostgreSQL unreachable: {exc}") from exc
                # a blip (restart, ended session) is over within the first retries
                level = logging.INFO if attempt < QUIET_RETRIES else logging.WARNING
                logger.log(level, "PostgreSQL call failed (%s); retrying in %.2fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                self._pool.check()  # drop every idle connection the failure broke
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.close()

    # -- values -------------------------------------------------------------------------------

    time = staticmethod(_time)

    @staticmethod
    def json_value(value: Any) -> JSON:
        # psycopg decoded it already, with json.loads (loaders.py wraps psycopg's own json
        # loaders): from json columns' own text, so floats, ints and key order are what
        # the writer's json.dumps wrote (0005_exact_json.sql).
        return cast(JSON, value)

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> int:
        return self.call(self._migrate)

    def _migrate(self) -> int:
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                psycopg.sql.Identifier(self.target.schema)))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer "
                         "PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)")
            applied = {row["version"] for row in
                       conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for migration in MIGRATIONS:
                if migration.version not in applied:
                    conn.execute(migration.sql.encode())
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, now())",
                                 (migration.version, migration.name))
        return MIGRATIONS[-1].version

    # -- workers: claims, liveness, wake-ups ------------------------------------------------------

    @staticmethod
    def nothing_due(queues: Sequence[str]) -> bool:
        return False  # the claim is one statement: asking first would cost a round trip

    def dead_workers(self, lease: float, *, dry_run: bool = False) -> base.DeadWorkers:
        """Silent past the lease, or their advisory lock seen free twice (``dead_workers``
        notes a first sighting, kept unless ``dry_run``); ``confirm_in``: when the soonest
        free lock not yet confirmed will be."""
        with self.write(dry_run=dry_run) as tx:
            rows = tx.rows("dead_workers", lease=lease, confirm=liveness.LOCK_CONFIRM,
                           restart_grace=liveness.RESTART_GRACE)
        due = [row["confirm_in"] for row in rows if not row["dead"]]
        return base.DeadWorkers(tuple(row["id"] for row in rows if row["dead"]),
                                confirm_in=max(min(due), 0.0) if due else None)

    def lock_key(self, worker_id: str) -> int:
        return self.target.lock_key(worker_id)

    def acquire_liveness(self, worker_id: str) -> liveness.AdvisoryLiveness:
        return liveness.AdvisoryLiveness(self.target, self.target.lock_key(worker_id),
                                         worker_id)

    def open_listener(self) -> listener.PostgresListener:
        return listener.PostgresListener(self)

    def prune_signals(self, older_than: datetime) -> int:
        """NOTIFY needs no outbox; only feeds whose server died are forgotten here."""
        with self.write(one_statement=True) as tx:
            tx.count("prune_signals", stale_before=datetime.now(UTC) - timedelta(
                seconds=FEED_STALE_AFTER))
        return 0

    # -- live change feed (NOTIFY; see corral.store.postgres.changes) ----------------------------

    def open_change_feed(self) -> changes.NotifyFeed:
        return changes.NotifyFeed(self)

    def touch_change_feed(self, feed_id: str) -> None:
        """Register (or keep alive) a feed: the change triggers NOTIFY while one exists."""
        self.call(self._feed, "open_change_feed", feed_id)

    def close_change_feed(self, feed_id: str) -> None:
        self.call(self._feed, "close_change_feed", feed_id)

    def _feed(self, query: str, feed_id: str) -> None:
        with self.write(one_statement=True) as tx:
            tx.rows(query, id=feed_id)
