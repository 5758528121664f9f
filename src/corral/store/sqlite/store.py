"""SQLite store: stdlib ``sqlite3``, WAL, ``BEGIN IMMEDIATE`` for every write.

Several processes share one file (server, workers, CLI). Each thread gets its own
connection; writers serialize on SQLite's write lock, waiting out ``busy_timeout`` and then
retrying, so "database is locked" never reaches a caller. Times are stored as UNIX epoch
seconds and returned as aware UTC datetimes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corral import errors
from corral.batch import (
    Batch,
    NewBatch,
    batches_from_rows,
    on_complete_job,
    on_complete_json,
)
from corral.ids import prefix_bounds, suffix_probe, uuid7
from corral.job import JSON, Job, JobEvent, NewJob
from corral.outcome import Outcome
from corral.status import IN_FLIGHT, PENDING, JobStatus
from corral.store import base, codec, limits, migrate, quarantine, trail
from corral.store.changes import FEED_STALE_AFTER
from corral.store.sqlite import changes, doorbell, liveness

Q = migrate.load_queries("corral.store.sqlite")
MIGRATIONS = migrate.load_migrations("corral.store.sqlite")
MIN_SQLITE = (3, 38, 0)  # ->> operator; RETURNING and UPDATE ... FROM are older
BUSY_TIMEOUT_MS = 5000
LOCK_RETRY_DEADLINE = 120.0  # seconds of retrying a busy database before giving up
DOORBELL_HORIZON = 60.0  # workers silent longer than this are not rung
PRUNE_CHUNK = 5000  # rows deleted per retention transaction


@dataclass
class _Transaction:
    """A write in progress and the doorbells to ring once it has committed."""

    conn: sqlite3.Connection
    now: float
    rings: list[tuple[list[str], str, str | None]] = field(default_factory=list)

    def add_events(self, events: list[trail.Event]) -> None:
        if events:
            self.conn.executemany(Q["insert_event"], [
                {**e, "at": self.now, "data": json.dumps(e["data"]) if e["data"] else None}
                for e in events
            ])


class SQLiteStore:
    """The embedded store; see ``corral.store.base.Store`` for the contract."""

    single_writer = True

    def __init__(self, url: str) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise errors.StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; corral needs 3.38 or newer"
            )
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise errors.StoreError(
                "an in-memory SQLite database cannot be shared with workers; give a file path",
                url=url,
            )
        self.url = url
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()  # guards _connections (any thread)

    # -- connections and transactions -------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                    check_same_thread=False,
                )
                conn.row_factory = sqlite3.Row
                self._retry_busy(lambda: self._configure(conn))
            except sqlite3.Error as exc:
                raise errors.StoreError(
                    f"cannot open SQLite database {self.path!r}: {exc}", url=self.url
                ) from exc
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @staticmethod
    def _configure(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")

    @staticmethod
    def _retry_busy(operation: Any) -> Any:
        """Run ``operation``, retrying while the database stays locked past busy_timeout."""
        deadline = time.monotonic() + LOCK_RETRY_DEADLINE
        delay = 0.001
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if "locked" not in message and "busy" not in message:
                    raise
                if time.monotonic() > deadline:
                    raise errors.StoreError(f"SQLite stayed locked: {message}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    @contextmanager
    def _write(self) -> Iterator[_Transaction]:
        conn = self._conn()
        self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        tx = _Transaction(conn, time.time())
        try:
            yield tx
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, UnicodeEncodeError):  # a lone surrogate: not text
                raise errors.InvalidArguments(f"not storable as text: {exc}") from exc
            if isinstance(exc, sqlite3.IntegrityError):  # a constraint no guard foresaw
                raise errors.StoreError(f"SQLite refused the write: {exc}") from exc
            raise
        for addresses, channel, queue in tx.rings:
            doorbell.ring(addresses, channel, queue)

    def _read(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        conn = self._conn()
        try:
            rows: list[sqlite3.Row] = self._retry_busy(
                lambda: conn.execute(Q[name], params).fetchall()
            )
        except UnicodeEncodeError as exc:  # a lone surrogate: not text
            raise errors.InvalidArguments(f"not storable as text: {exc}") from exc
        return rows

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> int:
        with self._write() as tx:
            tx.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            applied = {row[0] for row in tx.conn.execute("SELECT version FROM schema_migrations")}
            for migration in MIGRATIONS:
                if migration.version in applied:
                    continue
                for statement in _statements(migration.sql):
                    tx.conn.execute(statement)
                tx.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, tx.now),
                )
        return MIGRATIONS[-1].version

    # -- jobs -------------------------------------------------------------------------

    def enqueue_jobs(self, jobs: Sequence[NewJob], *, actor: str | None = None,
                     batch: NewBatch | None = None) -> list[Job]:
        if not jobs and batch is None:
            return []
        with self._write() as tx:
            if batch is not None:
                tx.conn.execute(Q["insert_batch"], {
                    "id": batch.id, "name": batch.name, "created_at": tx.now,
                    "on_complete": json.dumps(on_complete_json(batch.on_complete))
                    if batch.on_complete else None,
                })  # a retry's batch row is there already: skipped, as its jobs are
            return self._insert_jobs(tx, jobs, actor)

    def _insert_jobs(self, tx: _Transaction, jobs: Sequence[NewJob], actor: str | None,
                     ) -> list[Job]:
        """Inserts ``jobs`` with their trail rows; a job whose ``unique_key`` an active job
        holds comes back as that job, and a job whose id is stored comes back as stored:
        PostgreSQL's contract (its reconnect retries an enqueue whose commit went
        unacknowledged), kept here too. Trail rows and doorbells only for the rows this
        insert wrote."""
        if not jobs:
            return []
        codec.check_distinct_ids(jobs)
        rows = [_new_job_row(job, tx.now) for job in jobs]
        tx.conn.execute("SAVEPOINT enqueue")
        if tx.conn.executemany(Q["insert_job"], rows).rowcount == len(rows):
            inserted = rows
        else:  # some were skipped (rare): again one by one, to know which
            tx.conn.execute("ROLLBACK TO enqueue")
            inserted = [row for row in rows if tx.conn.execute(Q["insert_job"], row).rowcount]
        tx.add_events([
            trail.event(row["id"], "enqueued", actor=actor, to_status=row["status"])
            for row in inserted
        ])
        self._ring_queues(tx, {row["queue"] for row in inserted
                               if row["status"] == JobStatus.QUEUED})
        written = {row["id"] for row in inserted} if inserted is not rows else None
        skipped = [job for job in jobs if job.id not in written] if written is not None else []
        existing = codec.skipped_jobs(skipped, self._jobs(tx.conn.execute(Q["existing_jobs"], {
            "ids": json.dumps([job.id for job in skipped]),
            "keys": json.dumps([job.unique_key for job in skipped if job.unique_key]),
        }).fetchall(), tx)[0]) if skipped else {}
        return [
            codec.job_from_new(job, row["status"], _dt(row["run_at"]), _dt(row["created_at"]))
            if written is None or job.id in written else existing[job.id]
            for job, row in zip(jobs, rows, strict=True)
        ]

    def claim_jobs(self, worker_id: str, queues: Sequence[str], limit: int) -> list[Job]:
        if limit <= 0 or not queues:
            return []
        params: dict[str, Any] = {"worker_id": worker_id, "queues": json.dumps(list(queues)),
                                  "limit": limit, "now": time.time()}
        if not self._read("has_due_work", params)[0][0]:
            return []
        with self._write() as tx:  # claims are serialized here, so limits hold
            promoted = tx.conn.execute(Q["promote_due"], {"now": tx.now}).fetchall()
            slots = _queue_slots(tx.conn, queues, limit)
            candidates = limits.pick(sorted(
                (row for queue, free in slots.items() if free for row in tx.conn.execute(
                    Q["claim_candidates"], {"queue": queue, "now": tx.now, "limit": free})),
                key=_claim_order,
            ), slots, limit)
            rows = tx.conn.execute(Q["claim_jobs"], {
                "worker_id": worker_id, "now": tx.now,
                "ids": json.dumps([row["id"] for row in candidates]),
            }).fetchall()
            tx.add_events(
                [trail.event(row["id"], "due", actor="corral", from_status="scheduled",
                          to_status="queued") for row in promoted]
                + [trail.event(row["id"], "claimed", actor=worker_id, from_status="queued",
                            to_status="running", data={"attempt": row["attempt"]})
                   for row in rows]
            )
            decoded, corrupt = self._jobs(rows, tx)  # a corrupt row never stalls the rest
        jobs = [job for job in decoded if job.id not in corrupt]
        jobs.sort(key=lambda job: (-job.priority, job.run_at or 0, job.id))
        return jobs

    def finish_jobs(self, outcomes: Sequence[Outcome]) -> list[base.FinishResult]:
        if not outcomes:
            return []
        payload = json.dumps([_outcome_json(outcome) for outcome in outcomes])
        ids = json.dumps([outcome.job_id for outcome in outcomes])
        with self._write() as tx:
            before = {row["id"]: row for row in tx.conn.execute(Q["statuses_of"], {"ids": ids})}
            recorded = {
                row["id"]: JobStatus(row["status"])
                for row in tx.conn.execute(Q["finish_jobs"], {"outcomes": payload, "now": tx.now})
            }
            tx.add_events([
                trail.outcome_event(outcome, before[outcome.job_id], outcome.job_id in recorded,
                                    before[outcome.job_id]["cancel_requested_at"])
                for outcome in outcomes
                if outcome.job_id in before
            ])
        return [
            base.FinishResult(
                outcome.job_id,
                outcome.job_id in recorded,
                recorded.get(outcome.job_id)
                or (JobStatus(before[outcome.job_id]["status"]) if outcome.job_id in before
                    else None),
            )
            for outcome in outcomes
        ]

    def record_progress(self, updates: Sequence[base.ProgressUpdate]) -> list[str]:
        if not updates:
            return []
        payload = json.dumps([
            {"id": u.job_id, "worker_id": u.worker_id, "attempt": u.attempt, "phase": u.phase,
             "current": u.current, "total": u.total, "message": codec.clean_text(u.message)}
            for u in updates
        ])
        with self._write() as tx:
            applied = {row["id"] for row in tx.conn.execute(Q["record_progress"],
                                                            {"updates": payload})}
        return [u.job_id for u in updates if u.job_id not in applied]

    def mark_stalled(self, job_id: str, worker_id: str, attempt: int) -> bool:
        return self._mark("mark_stalled", "stalled", job_id, worker_id, attempt)

    def mark_unresponsive(self, job_id: str, worker_id: str, attempt: int) -> bool:
        return self._mark("mark_unresponsive", "unresponsive", job_id, worker_id, attempt)

    def _mark(self, query: str, kind: str, job_id: str, worker_id: str, attempt: int) -> bool:
        with self._write() as tx:
            marked = tx.conn.execute(Q[query], {"id": job_id, "worker_id": worker_id,
                                                "attempt": attempt, "now": tx.now}).fetchone()
            if marked:
                tx.add_events([trail.event(job_id, kind, actor=worker_id,
                                        data={"attempt": attempt})])
        return marked is not None

    def save_result(self, job_id: str, worker_id: str, attempt: int, result: JSON) -> bool:
        params = {"id": job_id, "worker_id": worker_id, "attempt": attempt,
                  "result": json.dumps(result)}
        with self._write() as tx:
            return tx.conn.execute(Q["save_result"], params).fetchone() is not None

    def add_events(self, events: Sequence[base.NewEvent]) -> None:
        if not events:
            return
        with self._write() as tx:
            tx.add_events([
                trail.event(e.job_id, e.kind, actor=e.actor, reason=e.reason, data=e.data)
                for e in events
            ])

    def cancel_jobs(
        self,
        ids: Sequence[str],
        *,
        actor: str | None,
        reason: str | None,
        force: bool = False,
    ) -> list[base.StatusChange]:
        if not ids:
            return []
        with self._write() as tx:
            return self._cancel(tx, ids, actor=actor, reason=reason, force=force)

    def _cancel(
        self, tx: _Transaction, ids: Sequence[str], *, actor: str | None, reason: str | None,
        force: bool,
    ) -> list[base.StatusChange]:
        """The cancel transition inside a write transaction (see ``cancel_jobs``)."""
        leavable = [*PENDING, JobStatus.RUNNING] + ([JobStatus.CANCELLING] if force else [])
        id_list = json.dumps(list(dict.fromkeys(ids)))
        before = {row["id"]: row for row in tx.conn.execute(Q["statuses_of"], {"ids": id_list})}
        rows = tx.conn.execute(Q["cancel_jobs"], {
            "ids": id_list, "statuses": json.dumps(leavable), "force": int(force),
            "now": tx.now, "reason": reason, "actor": actor,
        }).fetchall()
        changes = {
            row["id"]: base.StatusChange(
                row["id"], JobStatus(before[row["id"]]["status"]), JobStatus(row["status"]),
                row["worker_id"],
            )
            for row in rows
        }
        tx.add_events([
            trail.cancel_event(c.job_id, c.from_status, c.to_status, actor=actor, reason=reason,
                               force=force)
            for c in changes.values()
        ])
        self._notify_holders(tx, [c for c in changes.values() if c.from_status in IN_FLIGHT],
                             force)
        return [
            changes.get(job_id)
            or base.StatusChange(job_id, JobStatus(row["status"]), JobStatus(row["status"]),
                                 row["worker_id"])
            for job_id, row in before.items()
        ]

    def restart_jobs(self, ids: Sequence[str], *, actor: str | None,
                     reason: str | None) -> list[base.StatusChange]:
        if not ids:
            return []
        id_list = json.dumps(list(dict.fromkeys(ids)))
        with self._write() as tx:
            before = {row["id"]: row for row in tx.conn.execute(Q["statuses_of"],
                                                                 {"ids": id_list})}
            restarted = {row["id"] for row in tx.conn.execute(Q["restart_jobs"],
                                                              {"ids": id_list, "now": tx.now})}
            tx.add_events([
                trail.event(job_id, "restarted", actor=actor, reason=reason,
                         from_status=before[job_id]["status"], to_status="queued")
                for job_id in restarted
            ])
            queues = {row["queue"] for row in tx.conn.execute(
                Q["queues_of"], {"ids": json.dumps(sorted(restarted))})}
            self._ring_queues(tx, queues)
        return [
            base.StatusChange(job_id, JobStatus(row["status"]),
                              JobStatus.QUEUED if job_id in restarted else JobStatus(row["status"]))
            for job_id, row in before.items()
        ]

    def run_now(self, ids: Sequence[str], *, actor: str | None) -> list[base.StatusChange]:
        if not ids:
            return []
        id_list = json.dumps(list(dict.fromkeys(ids)))
        with self._write() as tx:
            before = {row["id"]: row for row in tx.conn.execute(Q["statuses_of"],
                                                                 {"ids": id_list})}
            rows = tx.conn.execute(Q["run_now"], {"ids": id_list, "now": tx.now}).fetchall()
            tx.add_events([trail.event(row["id"], "run_now", actor=actor,
                                       from_status="scheduled", to_status="queued")
                           for row in rows])
            self._ring_queues(tx, {row["queue"] for row in rows})
        due = {row["id"] for row in rows}
        return [base.StatusChange(job_id, JobStatus(row["status"]),
                                  JobStatus.QUEUED if job_id in due else JobStatus(row["status"]))
                for job_id, row in before.items()]

    def release_jobs(self, worker_id: str, ids: Sequence[str], *, reason: str) -> list[str]:
        if not ids:
            return []
        with self._write() as tx:
            rows = tx.conn.execute(Q["release_jobs"], {
                "worker_id": worker_id, "ids": json.dumps(list(ids)), "now": tx.now,
            }).fetchall()
            tx.add_events([
                trail.event(row["id"], "released", actor=worker_id, reason=reason,
                         from_status="running", to_status="queued",
                         data={"attempt": row["attempt"], "attempt_counted": False})
                for row in rows
            ])
            self._ring_queues(tx, {row["queue"] for row in rows})
        return [row["id"] for row in rows]

    def _ring_queues(self, tx: _Transaction, queues: set[str]) -> None:
        """After commit, ring the workers that listen on any of ``queues``."""
        if queues:
            for queue, addresses in self._doorbells_by_queue(tx, queues).items():
                tx.rings.append((addresses, doorbell.BELL_JOBS, queue))

    def _notify_holders(
        self, tx: _Transaction, changes: list[base.StatusChange], force: bool
    ) -> None:
        """One outbox row and one doorbell per worker holding any of the cancelled jobs."""
        by_worker: dict[str, list[str]] = defaultdict(list)
        for change in changes:
            if change.worker_id:
                by_worker[change.worker_id].append(change.job_id)
        if not by_worker:
            return
        for worker_id, job_ids in by_worker.items():
            tx.conn.execute(Q["insert_notification"], {
                "at": tx.now, "channel": doorbell.BELL_CANCEL, "queue": None,
                "worker_id": worker_id,
                "payload": json.dumps({"job_ids": job_ids, "force": force}),
            })
        addresses = [
            row["doorbell"] for row in self._live_workers(tx) if row["id"] in by_worker
        ]
        tx.rings.append((addresses, doorbell.BELL_CANCEL, None))

    def _live_workers(self, tx: _Transaction) -> list[sqlite3.Row]:
        return tx.conn.execute(Q["live_doorbells"],
                               {"since": tx.now - DOORBELL_HORIZON}).fetchall()

    def _doorbells_by_queue(self, tx: _Transaction, queues: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for row in self._live_workers(tx):
            for queue in set(json.loads(row["queues"])) & queues:
                found[queue].append(row["doorbell"])
        return found

    def get_job(self, job_id: str) -> Job | None:
        rows = self._read("get_job", {"id": job_id})
        return self._jobs(rows)[0][0] if rows else None

    def jobs_matching_id(self, digits: str, *, limit: int) -> list[Job]:
        id_low, id_high = prefix_bounds(digits)
        tail, pattern = suffix_probe(digits)
        rows = self._read("jobs_matching_id", {"id_low": id_low, "id_high": id_high,
                                               "tail": tail, "pattern": pattern,
                                               "limit": limit})
        return self._jobs(rows)[0]

    def list_jobs(self, where: base.JobFilter, *, limit: int | None = 100) -> list[Job]:
        id_low, id_high = where.id_bounds()
        # with labels, job_labels finds the candidates: no read of every job's meta
        rows = self._read("list_jobs_labelled" if where.meta else "list_jobs", {
            "statuses": json.dumps(list(where.statuses)) if where.statuses else None,
            "ids": json.dumps(list(where.ids)) if where.ids is not None else None,
            "queue": where.queue, "task": where.task, "batch_id": where.batch_id,
            "limit_key": where.limit_key, "created_before": _ts(where.created_before),
            "created_after": _ts(where.created_after),
            "before_id": where.before_id,
            "id_low": id_low, "id_high": id_high, "meta": where.meta_json(),
            "limit": -1 if limit is None else limit,
        })
        return self._jobs(rows)[0]

    def _jobs(self, rows: Sequence[sqlite3.Row], tx: _Transaction | None = None
              ) -> tuple[list[Job], set[str]]:
        """``rows`` as Jobs, and the ids of those quarantined because they do not decode
        (``corral.store.quarantine``; in ``tx`` when given, else in a write of its own)."""
        def apply(entries: list[quarantine.Corrupt]) -> set[str]:
            if tx is not None:
                return self._quarantine(tx, entries)
            with self._write() as own:
                return self._quarantine(own, entries)

        def reread(ids: list[str]) -> list[sqlite3.Row]:
            conn = tx.conn if tx is not None else self._conn()
            return conn.execute(Q["jobs_by_ids"], {"ids": json.dumps(ids)}).fetchall()

        return quarantine.decode(rows, _dt, codec.loads, apply, reread)

    @staticmethod
    def _quarantine(tx: _Transaction, entries: list[quarantine.Corrupt]) -> set[str]:
        moved = {row["id"] for row in tx.conn.execute(Q["quarantine_jobs"], {
            "rows": json.dumps([{"id": e.job_id, "status": e.status,
                                 "error": json.dumps(e.error)} for e in entries]),
            "now": tx.now})}
        tx.add_events([quarantine.event(e) for e in entries if e.job_id in moved])
        return moved

    # -- queues ------------------------------------------------------------------------

    def set_queue(self, name: str, *, concurrency: int | None = None,
                  clear_concurrency: bool = False, paused: bool | None = None) -> None:
        with self._write() as tx:
            tx.conn.execute(Q["set_queue"], {
                "name": name, "concurrency": concurrency, "clear_concurrency": clear_concurrency,
                "paused": None if paused is None else int(paused), "now": tx.now})
            self._ring_queues(tx, {name})  # a resumed or widened queue may have work now

    def job_counts(self, since: datetime) -> dict[str, int]:
        return {row["name"]: row["n"]
                for row in self._read("job_counts", {"since": since.timestamp()})}

    def jobs_per_queue(self) -> list[tuple[str, JobStatus, int]]:
        return [(row["queue"], JobStatus(row["status"]), int(row["n"]))
                for row in self._read("jobs_per_queue", {})]

    def queue_stats(self) -> list[base.QueueInfo]:
        return [base.QueueInfo(row["name"], row["concurrency"], bool(row["paused"]),
                               row["queued"], row["scheduled"], row["running"])
                for row in self._read("queue_stats", {})]

    # -- batches, deletion, retention ----------------------------------------------------

    def enqueue_tick(self, name: str, tick: datetime, job: NewJob, *, actor: str) -> bool:
        with self._write() as tx:
            params = {"name": name, "tick": tick.timestamp(), "job_id": job.id}
            if not tx.conn.execute(Q["insert_tick"], params).rowcount:
                held = tx.conn.execute(Q["tick_job"], params).fetchone()
                if held is None or held["job_id"] != job.id:
                    return False  # another scheduler's; else a retry of ours, committed
            self._insert_jobs(tx, [job], actor)
        return True

    def get_batch(self, batch_id: str) -> Batch | None:
        found = self._batches(batch_id=batch_id, limit=1)
        return found[0] if found else None

    def list_batches(self, *, limit: int = 50, before_id: str | None = None) -> list[Batch]:
        return self._batches(before_id=before_id, limit=limit)

    def _batches(self, *, batch_id: str | None = None, before_id: str | None = None,
                 limit: int) -> list[Batch]:
        """One batch, or a page of them, with their counts: one statement either way."""
        rows = self._read("batches", {"id": batch_id, "before_id": before_id, "limit": limit})
        return batches_from_rows(rows, _dt)

    def complete_batches(self, *, actor: str) -> list[str]:
        if not self._read("finished_batches", {}):
            return []
        made = []
        with self._write() as tx:
            for row in tx.conn.execute(Q["finished_batches"]).fetchall():
                if tx.conn.execute(Q["close_batch"], {"id": row["id"], "now": tx.now}).rowcount:
                    job = on_complete_job(json.loads(row["on_complete"]), uuid7(), row["id"])
                    self._insert_jobs(tx, [job], actor)
                    made.append(job.id)
        return made

    def delete_jobs(self, ids: Sequence[str]) -> list[base.Deletion]:
        if not ids:
            return []
        params = {"ids": json.dumps(list(ids))}
        with self._write() as tx:
            before = tx.conn.execute(Q["statuses_for_delete"], params).fetchall()
            tx.conn.execute(Q["delete_finished"], params)
        return [base.Deletion(row["id"], JobStatus(row["status"]),
                              JobStatus(row["status"]).is_terminal) for row in before]

    def prune_jobs(self, *, completed_before: datetime, failed_before: datetime) -> int:
        pruned = 0
        while True:  # in chunks, so the write lock is never held for long
            with self._write() as tx:
                deleted = tx.conn.execute(Q["prune_jobs"], {
                    "completed_before": completed_before.timestamp(),
                    "failed_before": failed_before.timestamp(), "chunk": PRUNE_CHUNK,
                }).rowcount
            pruned += deleted
            if deleted < PRUNE_CHUNK:
                break
        with self._write() as tx:
            tx.conn.execute(Q["prune_ticks"], {"before": completed_before.timestamp()})
        return pruned

    def job_events(self, job_id: str) -> list[JobEvent]:
        return [
            JobEvent(
                id=row["id"], job_id=row["job_id"], at=_dt_required(row["at"]), kind=row["kind"],
                actor=row["actor"], reason=row["reason"],
                from_status=JobStatus(row["from_status"]) if row["from_status"] else None,
                to_status=JobStatus(row["to_status"]) if row["to_status"] else None,
                data=json.loads(row["data"]) if row["data"] else {},
            )
            for row in self._read("job_events", {"job_id": job_id})
        ]

    # -- workers and notifications ------------------------------------------------------

    def register_worker(self, worker: base.WorkerInfo) -> None:
        with self._write() as tx:
            tx.conn.execute(Q["register_worker"], {
                "id": worker.id, "host": worker.host, "pid": worker.pid,
                "queues": json.dumps(list(worker.queues)), "concurrency": worker.concurrency,
                "version": worker.version, "now": tx.now, "doorbell": worker.doorbell,
            })

    def heartbeat(self, worker_id: str) -> list[base.HeldJob]:
        with self._write() as tx:
            params = {"worker_id": worker_id, "now": tx.now}
            tx.conn.execute(Q["touch_worker"], params)
            rows = tx.conn.execute(Q["touch_held_jobs"], params).fetchall()
        return [base.HeldJob(row["id"], JobStatus(row["status"]), row["attempt"]) for row in rows]

    def deregister_worker(self, worker_id: str) -> None:
        with self._write() as tx:
            tx.conn.execute(Q["deregister_worker"], {"worker_id": worker_id, "now": tx.now})

    def list_workers(self) -> list[base.WorkerRecord]:
        return [
            base.WorkerRecord(
                id=row["id"], host=row["host"], pid=row["pid"],
                queues=tuple(json.loads(row["queues"])), concurrency=row["concurrency"],
                version=row["version"], started_at=_dt_required(row["started_at"]),
                last_seen=_dt_required(row["last_seen"]), state=row["state"],
                doorbell=row["doorbell"],
            )
            for row in self._read("list_workers", {})
        ]

    def acquire_liveness(self, worker_id: str) -> liveness.LivenessLock:
        return liveness.LivenessLock(liveness.lock_path(self.path, worker_id))

    def _dead_workers(self, now: float, lease: float) -> list[str]:
        """Workers registered as running that are dead: silent past the lease, or (on this
        host) with their liveness lock free."""
        host = socket.gethostname()
        return [
            row["id"] for row in self._read("running_workers", {})
            if row["last_seen"] < now - lease
            or (row["host"] == host and liveness.is_dead(liveness.lock_path(self.path, row["id"])))
        ]

    def reap(self, *, lease: float, actor: str) -> base.ReapReport:
        dead = self._dead_workers(time.time(), lease)
        if not dead and not self._read("has_orphans", {}):
            return base.ReapReport()
        with self._write() as tx:
            marked = tx.conn.execute(Q["mark_workers_dead"], {"ids": json.dumps(dead)})
            newly_dead = tuple(row["id"] for row in marked)
            requeued, failed, cancelled = self._recover_orphans(tx, actor)
        return base.ReapReport(newly_dead, requeued, failed, cancelled)

    def prune_workers(self, *, gone_for: float) -> int:
        with self._write() as tx:
            before = time.time() - gone_for
            return tx.conn.execute(Q["prune_workers"], {"before": before}).rowcount

    def reset_stuck(self, started_before: datetime, *, lease: float, actor: str,
                    reason: str | None, dry_run: bool = False) -> list[base.StatusChange]:
        dead = self._dead_workers(time.time(), lease)
        if dry_run:
            return _stuck_preview(self._read("stuck_preview", {
                "dead": json.dumps(dead), "cutoff": started_before.timestamp()}))
        lost = json.dumps({"type": "WorkerLost", "message": "reset as stuck: its worker is dead",
                           "traceback": None})
        with self._write() as tx:
            tx.conn.execute(Q["mark_workers_dead"], {"ids": json.dumps(dead)})
            candidates = tx.conn.execute(Q["stuck_of_dead_workers"],
                                         {"cutoff": started_before.timestamp()}).fetchall()
            failed_ids = {row["id"] for row in tx.conn.execute(Q["fail_lost_jobs"], {
                "ids": json.dumps([row["id"] for row in candidates]), "now": tx.now,
                "error": lost,
            })}
            failed = [row for row in candidates if row["id"] in failed_ids]
            tx.add_events([
                trail.event(row["id"], "failed", actor=actor, reason=reason or "reset_stuck",
                         from_status=row["status"], to_status="failed",
                         data={"attempt": row["attempt"], "worker_id": row["worker_id"],
                               "error_type": "WorkerLost"})
                for row in failed
            ])
            live = [row["id"] for row in tx.conn.execute(
                Q["running_started_before"], {"cutoff": started_before.timestamp()})]
            cancelled = self._cancel(tx, live, actor=actor, reason=reason or "reset_stuck",
                                     force=False)
        return [
            base.StatusChange(row["id"], JobStatus(row["status"]), JobStatus.FAILED,
                              row["worker_id"])
            for row in failed
        ] + [change for change in cancelled if change.changed]

    def _recover_orphans(
        self, tx: _Transaction, actor: str
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Move every job held by a non-running worker, with one trail row each."""
        lost = json.dumps(trail.WORKER_LOST)
        requeued = tx.conn.execute(Q["requeue_orphans"], {"now": tx.now}).fetchall()
        failed = tx.conn.execute(Q["fail_orphans"], {"now": tx.now, "error": lost}).fetchall()
        cancelled = tx.conn.execute(Q["cancel_orphans"], {"now": tx.now}).fetchall()
        tx.add_events(trail.recovery_events(actor, requeued, failed, cancelled))
        self._ring_queues(tx, {row["queue"] for row in requeued})
        return (tuple(r["id"] for r in requeued), tuple(r["id"] for r in failed),
                tuple(r["id"] for r in cancelled))

    def last_notification_id(self) -> int:
        return int(self._read("last_notification_id", {})[0][0])

    def read_notifications(self, after_id: int) -> list[base.Notification]:
        found = []
        for row in self._read("read_notifications", {"after_id": after_id}):
            payload = json.loads(row["payload"]) if row["payload"] else {}
            found.append(base.Notification(
                id=row["id"], channel=row["channel"], queue=row["queue"],
                worker_id=row["worker_id"], job_ids=tuple(payload.get("job_ids", ())),
                force=bool(payload.get("force", False)),
            ))
        return found

    def prune_notifications(self, older_than: datetime) -> int:
        with self._write() as tx:
            cursor = tx.conn.execute(Q["prune_notifications"],
                                     {"before": older_than.timestamp()})
            tx.conn.execute(Q["prune_change_feeds"], {"before": tx.now - FEED_STALE_AFTER})
            tx.conn.execute(Q["prune_unread_changes"])
            return cursor.rowcount

    def open_listener(self) -> doorbell.DoorbellListener:
        return doorbell.DoorbellListener(self)

    # -- live change feed (the change log; see corral.store.sqlite.changes) ------------

    def open_change_feed(self) -> changes.ChangeLogFeed:
        return changes.ChangeLogFeed(self)

    def touch_change_feed(self, feed_id: str, *, prune_upto: int) -> None:
        """Register (or keep alive) a feed; forget dead feeds and old change-log rows."""
        with self._write() as tx:
            tx.conn.execute(Q["open_change_feed"], {"id": feed_id, "now": tx.now})
            tx.conn.execute(Q["prune_change_feeds"],
                            {"before": tx.now - FEED_STALE_AFTER})
            if prune_upto > 0:
                tx.conn.execute(Q["prune_changes"], {"upto": prune_upto})

    def last_change_id(self) -> int:
        return int(self._read("last_change_id", {})[0][0])

    def read_changes(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        rows = self._read("read_changes", {"after_id": after_id, "limit": limit})
        return [(row["id"], row["job_id"]) for row in rows]

    def close_change_feed(self, feed_id: str) -> None:
        with self._write() as tx:
            tx.conn.execute(Q["close_change_feed"], {"id": feed_id})


# -- row conversion --------------------------------------------------------------------


def _stuck_preview(rows: Sequence[sqlite3.Row]) -> list[base.StatusChange]:
    """What ``reset_stuck`` would change, from ``stuck_preview`` rows (its dry run)."""
    return [base.StatusChange(row["id"], JobStatus(row["status"]),
                              JobStatus.FAILED if row["lost"] else JobStatus.CANCELLING,
                              row["worker_id"]) for row in rows]


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements; a trigger's body (``BEGIN ...; END;``) stays
    whole, since ``sqlite3.complete_statement`` knows where a statement really ends."""
    pending = ""
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        pending += line + "\n"
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


def _queue_slots(conn: sqlite3.Connection, queues: Sequence[str], limit: int) -> dict[str, int]:
    """How many jobs each queue may start now: 0 when paused, what its limit leaves."""
    rules = {row["name"]: row for row in conn.execute(
        Q["queue_rules"], {"queues": json.dumps(list(queues))})}
    return {queue: limits.free_slots(rules.get(queue), limit) for queue in dict.fromkeys(queues)}


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _dt_required(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _new_job_row(job: NewJob, now: float) -> dict[str, Any]:
    run_at = _ts(codec.check_run_at(job.run_at)) or now
    return {
        "id": job.id, "task": job.task,
        "args": job.args_json or codec.encode_json(job.args, "args"),
        "kwargs": job.kwargs_json or codec.encode_json(job.kwargs, "kwargs"),
        "queue": codec.check_text(job.queue, "queue"),
        "priority": job.priority,
        "status": JobStatus.SCHEDULED if run_at > now else JobStatus.QUEUED,
        "max_attempts": job.max_attempts, "run_at": run_at, "created_at": now,
        "timeout": job.timeout, "batch_id": job.batch_id, "limit_key": job.limit_key,
        "key_limit": job.key_limit, "unique_key": codec.check_text(job.unique_key, "unique_key"),
        "meta": job.meta_json or codec.encode_json(job.meta, "meta"),
    }


def _claim_order(row: Mapping[str, Any]) -> tuple[float, float, str]:
    """Best first; a value a manual edit left unsortable sorts last (the row is then
    quarantined when it is decoded)."""
    def number(value: Any) -> float:
        return float(value) if isinstance(value, int | float) else float("inf")

    return (-number(row["priority"]) if isinstance(row["priority"], int | float)
            else float("inf"), number(row["run_at"]), str(row["id"]))


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    error = outcome.error
    return {
        "id": outcome.job_id, "worker_id": outcome.worker_id, "attempt": outcome.attempt,
        "status": trail.OUTCOME_STATUS[outcome.kind], "has_result": outcome.has_result,
        "result": json.dumps(outcome.result) if outcome.has_result else None,
        "error": json.dumps({"type": codec.clean_text(error.type),
                             "message": codec.clean_text(error.message),
                             "traceback": codec.clean_text(error.traceback)})
        if error else None,
        "run_at": _ts(outcome.retry_at), "phase": outcome.phase,
    }
