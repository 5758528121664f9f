"""SQLite driver: stdlib ``sqlite3``, WAL, ``BEGIN IMMEDIATE`` for every write.

Several processes share one file (server, workers, CLI). Each thread gets its own
connection; writers take turns on a lock file (``<db>.writers``) and then on SQLite's write
lock, waiting out ``busy_timeout`` and then retrying, so "database is locked" never reaches
a caller. Times are stored as UNIX epoch seconds and returned as aware UTC datetimes; JSON
columns hold text. Wake-ups and stop requests ring the workers' doorbells once the write
has committed (``doorbell.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from corral import errors
from corral.job import JSON
from corral.store import base, codec, migrate
from corral.store.changes import FEED_STALE_AFTER
from corral.store.sqlite import changes, doorbell, liveness

P = ParamSpec("P")
R = TypeVar("R")
MIGRATIONS = migrate.load_migrations("corral.store.sqlite")
MIN_SQLITE = (3, 38, 0)  # ->> operator; RETURNING and UPDATE ... FROM are older
BUSY_TIMEOUT_MS = 5000
LOCK_RETRY_DEADLINE = 120.0  # seconds of retrying a busy database before giving up
DOORBELL_HORIZON = 60.0  # workers silent longer than this are not rung
EACH_ROW = frozenset({"insert_jobs", "insert_events"})
"""Queries whose first statement (an ``INSERT ... VALUES (...)``) is written once per
record of ``rows``: as multi-row ``VALUES`` of ``ROWS_PER_INSERT`` records each
(``RowsInsert``). 10,000 jobs: 0.12 s, where ``executemany`` of the one-row statement
takes 0.41 s (each execution runs the table's triggers' setup again) and reading the
records with json_each (every ``->>`` parses the record again) 0.27 s."""
ROWS_PER_INSERT = 200  # x ~18 parameters: well under SQLite's 32,766 per statement


def writers_file(path: str) -> str:
    """The lock file on which writers of every process take turns (``_writers_turn``)."""
    return f"{path}.writers"


def _statements(sql: str) -> list[str]:
    """Split SQL into statements; a trigger's body (``BEGIN ...; END;``) stays whole,
    since ``sqlite3.complete_statement`` knows where a statement really ends."""
    found, pending = [], ""
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        pending += line + "\n"
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    return found + ([pending.strip()] if pending.strip() else [])


SCRIPTS = {name: _statements(sql + ";") for name, sql in
           migrate.load_queries("corral.store.sqlite").items()}


class RowsInsert:
    """An ``INSERT ... VALUES (:a, :b, ...) <tail>`` statement written for many records
    at once: its row's named parameters become positional, and the row is repeated."""

    def __init__(self, statement: str) -> None:
        head, _, rest = statement.partition("VALUES")
        row_end = _closing_paren(rest)
        row, self._tail = rest[:row_end + 1], rest[row_end + 1:]
        self.names = re.findall(r":(\w+)", row)
        self._head, self._row = head + "VALUES ", re.sub(r":\w+", "?", row)
        self._texts: dict[int, str] = {}

    def text(self, count: int) -> str:
        if count not in self._texts:
            self._texts[count] = self._head + ",".join([self._row] * count) + self._tail
        return self._texts[count]

    def run(self, conn: sqlite3.Connection, values: dict[str, Any],
            records: Sequence[dict[str, Any]]) -> int:
        """Insert ``records`` (their values over ``values``); the rows written."""
        written = 0
        names = self.names
        for start in range(0, len(records), ROWS_PER_INSERT):
            chunk = records[start:start + ROWS_PER_INSERT]
            flat = [record[name] if name in record else values[name]
                    for record in chunk for name in names]
            written += conn.execute(self.text(len(chunk)), flat).rowcount
        return written


def _closing_paren(text: str) -> int:
    """Where the parenthesis opened first in ``text`` closes."""
    depth = 0
    for index, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == ")" and depth == 0:
            return index
    raise ValueError("unbalanced parentheses")


ROWS_INSERTS = {name: RowsInsert(SCRIPTS[name][0]) for name in EACH_ROW}


def _param(value: Any) -> Any:
    """A parameter as SQLite takes it: lists as JSON arrays, times as epoch seconds."""
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class _Tx:
    """A write in progress, and whom to ring once it has committed."""

    def __init__(self, driver: SQLiteDriver, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now
        self._driver = driver
        self.woken: set[str] = set()
        self.stopped: set[str] = set()

    def rows(self, query: str, **params: Any) -> list[Any]:
        return self._driver.run(self.conn, query, params, self.now)[0]

    def rows_many(self, query: str, param_sets: Iterable[dict[str, Any]]) -> list[Any]:
        return [row for params in param_sets for row in self.rows(query, **params)]

    def count(self, query: str, **params: Any) -> int:
        return self._driver.run(self.conn, query, params, self.now)[1]

    def wake(self, queues: Iterable[str]) -> None:
        self.woken.update(queues)

    def stop(self, worker_id: str, job_ids: Sequence[str], force: bool) -> None:
        self.rows("notify", channel=doorbell.BELL_CANCEL, queue=None, worker_id=worker_id,
                  payload=json.dumps({"job_ids": list(job_ids), "force": force}))
        self.stopped.add(worker_id)

    def bells(self) -> list[tuple[list[str], str, str | None]]:
        """The doorbells to ring after commit: per woken queue, the live workers serving
        it; and every live worker told to stop jobs (it reads the outbox)."""
        if not self.woken and not self.stopped:
            return []
        live = self.rows("live_doorbells", since=self.now - DOORBELL_HORIZON)
        rings: list[tuple[list[str], str, str | None]] = [
            ([row["doorbell"] for row in live if queue in json.loads(row["queues"])],
             doorbell.BELL_JOBS, queue) for queue in sorted(self.woken)]
        if self.stopped:
            rings.append(([row["doorbell"] for row in live if row["id"] in self.stopped],
                          doorbell.BELL_CANCEL, None))
        return rings


class NothingKept:
    """Every thread has its own connection already; a writer keeps none apart."""

    @staticmethod
    def lend() -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    def release(self) -> None:
        pass


class SQLiteDriver:
    """The embedded backend (``sqlite:///path``); ``corral.store.engine`` holds the rules."""

    single_writer = True
    cancel_at_once = 0  # no round trips to save; stop requests ring doorbells after commit

    def __init__(self, url: str) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise errors.StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; corral needs 3.38 or newer")
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise errors.StoreError(
                "an in-memory SQLite database cannot be shared with workers; give a file path",
                url=url)
        self.url = url
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._turn_files: list[int] = []  # each thread's descriptor of the writers' file
        self._connections_lock = threading.Lock()  # guards both lists (any thread)

    # -- connections and transactions -------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (made on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                _retry_busy(_configure, conn)
            except sqlite3.Error as exc:
                raise errors.StoreError(
                    f"cannot open SQLite database {self.path!r}: {exc}", url=self.url) from exc
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def write(self, *, one_statement: bool = False, dry_run: bool = False) -> Iterator[_Tx]:
        conn = self.connection()
        with self._writers_turn():
            _retry_busy(conn.execute, "BEGIN IMMEDIATE")
            tx = _Tx(self, conn, time.time())
            changes_before = conn.total_changes
            try:
                yield tx
                rings = tx.bells()
                if conn.total_changes != changes_before:  # live feeds learn at once
                    rings.append(([row["doorbell"] for row in tx.rows("feed_doorbells")],
                                  doorbell.BELL_CHANGES, None))
                conn.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        for addresses, channel, queue in [] if dry_run else rings:
            if addresses:
                doorbell.ring(addresses, channel, queue)

    @contextmanager
    def _writers_turn(self) -> Iterator[None]:
        """Writers of every process queue on an ``flock`` of ``<db>.writers`` before
        ``BEGIN IMMEDIATE``: the kernel wakes the next one the moment the lock is let go,
        where SQLite's busy handler sleeps 1, 2, 5, 10... ms between tries. Draining with
        two worker processes: 5,188-5,536 jobs/s against 4,366-4,634 (four: 3,889-4,176
        against 3,432-3,812; one: unchanged). A writer that is not corral's (the sqlite3
        shell) is still waited out by busy_timeout; a writer's process that dies lets go."""
        turn: int | None = getattr(self._local, "turn", None)
        if turn is None:
            turn = os.open(writers_file(self.path), os.O_CREAT | os.O_RDWR, 0o644)
            self._local.turn = turn
            with self._connections_lock:
                self._turn_files.append(turn)
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)

    def cancel_now(self, **params: Any) -> list[Any]:
        raise NotImplementedError("cancel_at_once is 0: the engine cancels in a transaction")

    def read(self, query: str, **params: Any) -> list[Any]:
        conn = self.connection()
        return _retry_busy(self.run, conn, query, params, time.time())[0]

    def run(self, conn: sqlite3.Connection, query: str, params: dict[str, Any],
            now: float) -> tuple[list[Any], int]:
        """Run a named query's statements in order: the rows of the first that returns
        rows, and the last one's row count."""
        each = params.pop("rows") if query in EACH_ROW else None
        values = params  # the caller's keyword arguments: ours to adapt in place
        for key, value in values.items():
            if isinstance(value, list | tuple | datetime):
                values[key] = _param(value)
        values["now"] = now
        result: list[Any] | None = None
        count = 0
        for index, statement in enumerate(SCRIPTS[query]):
            if index == 0 and each is not None:
                count = ROWS_INSERTS[query].run(conn, values, each)
                continue
            cursor = conn.execute(statement, values)
            rows = cursor.fetchall()
            if result is None and cursor.description is not None:
                result = rows
            count = cursor.rowcount
        return result or [], count

    def call(self, operation: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return operation(*args, **kwargs)
        except UnicodeEncodeError as exc:  # a lone surrogate: not text
            raise errors.InvalidArguments(f"not storable as text: {exc}") from exc
        except sqlite3.IntegrityError as exc:  # a constraint no guard foresaw
            raise errors.StoreError(f"SQLite refused the write: {exc}") from exc

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            for turn in self._turn_files:
                os.close(turn)
            self._connections.clear()
            self._turn_files.clear()
        self._local = threading.local()

    # -- values -------------------------------------------------------------------------------

    time = staticmethod(_time)

    @staticmethod
    def json_value(value: Any) -> JSON:
        return codec.loads(value)

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> int:
        with self.write() as tx:
            tx.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
            applied = {row[0] for row in tx.conn.execute("SELECT version FROM schema_migrations")}
            for migration in MIGRATIONS:
                if migration.version in applied:
                    continue
                for statement in _statements(migration.sql):
                    tx.conn.execute(statement)
                tx.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, tx.now))
        return MIGRATIONS[-1].version

    # -- workers: claims, liveness, wake-ups ------------------------------------------------------

    def nothing_due(self, queues: Sequence[str]) -> bool:
        return not self.read("has_due_work", queues=list(queues))[0][0]

    def dead_workers(self, lease: float, *, dry_run: bool = False) -> base.DeadWorkers:
        """Silent past the lease, or (on this host) with their liveness lock free: known
        at once, nothing to confirm."""
        host = socket.gethostname()
        return base.DeadWorkers(tuple(
            row["id"] for row in self.read("dead_workers", lease=lease)
            if row["silent"] or (row["host"] == host and liveness.is_dead(
                liveness.lock_path(self.path, row["id"])))))

    @staticmethod
    def lock_key(worker_id: str) -> int | None:
        return None  # the lock is a file named after the worker

    def acquire_liveness(self, worker_id: str) -> liveness.LivenessLock:
        return liveness.LivenessLock(liveness.lock_path(self.path, worker_id))

    def open_listener(self) -> doorbell.DoorbellListener:
        return doorbell.DoorbellListener(self)

    @staticmethod
    def keep_connection() -> NothingKept:
        return NothingKept()

    def last_notification_id(self) -> int:
        return int(self.read("last_id", log="notifications")[0]["id"])

    def read_notifications(self, after_id: int) -> list[base.Notification]:
        """Outbox rows newer than ``after_id``, oldest first (one indexed lookup)."""
        found = []
        for row in self.read("read_notifications", after_id=after_id):
            payload = json.loads(row["payload"]) if row["payload"] else {}
            found.append(base.Notification(
                id=row["id"], channel=row["channel"], queue=row["queue"],
                worker_id=row["worker_id"], job_ids=tuple(payload.get("job_ids", ())),
                force=bool(payload.get("force", False))))
        return found

    def prune_signals(self, older_than: datetime) -> int:
        with self.write() as tx:
            return tx.count("prune_signals", before=older_than,
                            stale_before=tx.now - FEED_STALE_AFTER)

    # -- live change feed (the change log; see corral.store.sqlite.changes) ----------------------

    def open_change_feed(self) -> changes.ChangeLogFeed:
        return changes.ChangeLogFeed(self)

    def touch_change_feed(self, feed_id: str, *, prune_upto: int,
                          doorbell: str | None = None) -> None:
        """Register (or keep alive) a feed, with the doorbell writers ring; forget dead
        feeds and old change-log rows."""
        with self.write() as tx:
            tx.rows("open_change_feed", id=feed_id, upto=prune_upto, doorbell=doorbell,
                    stale_before=tx.now - FEED_STALE_AFTER)

    def last_change_id(self) -> int:
        return int(self.read("last_id", log="job_changes")[0]["id"])

    def read_changes(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        rows = self.read("read_changes", after_id=after_id, limit=limit)
        return [(row["id"], row["job_id"]) for row in rows]

    def close_change_feed(self, feed_id: str) -> None:
        with self.write() as tx:
            tx.rows("close_change_feed", id=feed_id)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def _retry_busy(operation: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``operation``, retrying while the database stays locked past busy_timeout."""
    deadline = 0.0
    delay = 0.001
    while True:
        try:
            return operation(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" not in message and "busy" not in message:
                raise
            deadline = deadline or time.monotonic() + LOCK_RETRY_DEADLINE
            if time.monotonic() > deadline:
                raise errors.StoreError(f"SQLite stayed locked: {message}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
