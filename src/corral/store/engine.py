"""The store's rules, written once: every ``Store`` operation over a backend's driver.

The engine decides what each operation does (which guarded statements run in which
transaction, which trail rows they leave, who is woken, which limits apply, how fencing
refuses a stale outcome); a ``Driver`` only knows how to talk to its database. Drivers
run named queries from their backend's ``queries.sql`` (the same names in both), hold the
connections and transactions, deliver wake-ups and stop requests once a write commits,
and map their library's errors onto corral's.

Every transition is a guarded statement that returns the rows it wrote; the trail rows
are made from those rows (with the status left read in the same transaction, locked on
PostgreSQL), so the audit says what the SQL did, not what Python expected it to do.
Where a backend writes a hot path's trail in the statement itself (PostgreSQL's enqueue
and claim are one statement each), its ``queries.sql`` says so, and the other backend's
query of the same name does the same in SQL (a short script of statements).

Layers: ``Corral`` (the facade) -> ``Engine`` (this module) -> ``Driver``
(``sqlite/driver.py``, ``postgres/driver.py``) -> SQL (``queries.sql``). See
``docs/architecture.md`` for where a new operation goes.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from corral.batch import Batch, NewBatch, batches_from_rows, on_complete_job, on_complete_json
from corral.ids import prefix_bounds, suffix_probe, uuid7
from corral.job import JSON, Job, JobEvent, NewJob
from corral.outcome import Outcome, OutcomeKind
from corral.status import IN_FLIGHT, PENDING, JobStatus
from corral.store import base, codec, limits, quarantine, trail
from corral.store.changes import ChangeFeed

P = ParamSpec("P")
R = TypeVar("R")
Row = Mapping[str, Any]
"""A result row by column name (``sqlite3.Row`` or psycopg's dict row)."""

LIMITED_EVERY = 1.0  # seconds: the longest a worker goes without looking at limited work
PRUNE_CHUNK = 5000  # rows deleted per retention transaction
INSERT_CHUNK = 1000
"""Jobs per insert statement. A bigger enqueue is one transaction of several statements
sent without waiting for each (``Tx.rows_many``): the server inserts one chunk while the
next is made here, its jobs drawn from the caller as they are reached (``_Drawn``)."""
LEAVES_ON_CANCEL = [*map(str, PENDING), str(JobStatus.RUNNING)]
STUCK_LOST = {**trail.WORKER_LOST, "message": "reset as stuck: its worker is dead"}


class Tx(Protocol):
    """One write transaction of a driver. Parameters are plain Python values (str, int,
    float, bool, None, datetime, lists of scalars, lists of dicts for record sets); the
    driver encodes them for its database and adds ``now`` where its SQL wants it."""

    def rows(self, query: str, **params: Any) -> list[Any]:
        """Run the named query; the rows it returns (``[]`` for none)."""

    def rows_many(self, query: str, param_sets: Iterable[dict[str, Any]]) -> list[Any]:
        """Run the named query once per parameter set, in order, in this transaction; the
        rows of all of them. A backend may send each before the last has answered, so a
        set is made while the database runs the one before."""

    def count(self, query: str, **params: Any) -> int:
        """Run the named query; how many rows it changed."""

    def wake(self, queues: Iterable[str]) -> None:
        """Workers serving ``queues`` hear of work once this transaction commits (a
        queue the statement already woke in SQL, in a ``woke`` column, is not woken
        twice)."""

    def stop(self, worker_id: str, job_ids: Sequence[str], force: bool) -> None:
        """``worker_id`` hears that it must stop ``job_ids`` once this commits."""


class Driver(Protocol):
    """How one backend reaches its database; no job rules live here."""

    url: str
    single_writer: bool
    cancel_at_once: int
    """Up to how many listed jobs a cancel is one statement (``cancel_now``); 0: never."""

    def cancel_now(self, **params: Any) -> list[Any]:
        """The backend's one-statement cancel (PostgreSQL's ``cancel_now`` query, its
        round trips being most of a cancel's latency), when ``cancel_at_once``."""

    def write(self, *, one_statement: bool = False,
              dry_run: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction (``one_statement``: the caller runs a single statement,
        atomic by itself, so a backend may skip BEGIN/COMMIT; ``dry_run``: rolled back,
        nobody told)."""

    def read(self, query: str, **params: Any) -> list[Any]:
        """Run a named read outside any write transaction."""

    def call(self, operation: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one store operation, ``operation(*args, **kwargs)``: retried whole while the
        connection is lost (every transition is guarded, so a retry is safe), the
        driver's errors mapped onto ``InvalidArguments`` / ``StoreError``."""

    def time(self, value: Any) -> datetime | None:
        """A stored time as an aware UTC datetime."""

    def json_value(self, value: Any) -> JSON:
        """A stored JSON column as a Python value."""

    def nothing_due(self, queues: Sequence[str]) -> bool:
        """True when a cheap look says a claim would find nothing (SQLite: spares the
        write lock on idle polls); False when asking costs as much as claiming."""

    def dead_workers(self, lease: float, *, dry_run: bool = False) -> base.DeadWorkers:
        """``running`` workers that are dead: liveness lock free (as the backend proves
        it) or silent for ``lease`` seconds."""

    def lock_key(self, worker_id: str) -> int | None:
        """The worker's liveness lock key, recorded in its row (None: not a key)."""

    def migrate(self) -> int: ...
    def close(self) -> None: ...
    def acquire_liveness(self, worker_id: str) -> base.Liveness: ...
    def open_listener(self) -> base.Listener: ...
    def keep_connection(self) -> base.KeptConnection: ...
    def open_change_feed(self) -> ChangeFeed: ...

    def prune_signals(self, older_than: datetime) -> int:
        """Forget wake-up and change-feed bookkeeping nobody will read again."""


def _operation(method: Callable[Concatenate[Engine, P], R]
               ) -> Callable[Concatenate[Engine, P], R]:
    """A public store operation: run through ``Driver.call`` (retries, error mapping)."""

    @functools.wraps(method)
    def run(engine: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return engine.driver.call(method, engine, *args, **kwargs)

    return run


class Engine:
    """The one ``Store``: see ``corral.store.base.Store`` for each operation's contract."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.url = driver.url
        self.single_writer = driver.single_writer
        self._limited_at = float("-inf")  # last look at limited work (claim_jobs only)

    def migrate(self) -> int:
        return self.driver.migrate()

    def close(self) -> None:
        self.driver.close()

    # -- jobs -----------------------------------------------------------------------------

    def enqueue_jobs(self, jobs: Iterable[NewJob], *, actor: str | None = None,
                     batch: NewBatch | None = None) -> list[Job]:
        return self.driver.call(self._enqueue_jobs, _Drawn(jobs), actor, batch)

    def _enqueue_jobs(self, jobs: _Drawn, actor: str | None, batch: NewBatch | None
                      ) -> list[Job]:
        first = jobs.chunk(0)
        if not first and batch is None:
            return []
        several = jobs.longer_than(INSERT_CHUNK)
        # one statement unless a batch row or a unique key must be checked in the same
        # transaction (the partial unique index makes a racing enqueuer wait, then skip),
        # or the jobs take several
        alone = batch is None and not several and not any(job.unique_key for job in first)
        with self.driver.write(one_statement=alone) as tx:
            if batch is not None:
                tx.rows("insert_batch", id=batch.id, name=batch.name, on_complete=json.dumps(
                    on_complete_json(batch.on_complete)) if batch.on_complete else None)
            return self._insert_jobs(tx, jobs.chunks(), actor, several=several)

    def _insert_jobs(self, tx: Tx, chunks: Iterable[Sequence[NewJob]], actor: str | None,
                     *, several: bool = False) -> list[Job]:
        """Insert the jobs of ``chunks`` (``several``: more than one statement's worth);
        the statement writes their ``enqueued`` trail rows. A job whose ``unique_key`` an
        active job holds comes back as that job; a job whose id is stored (a retry whose
        commit went unacknowledged) comes back as stored, with no second trail row or
        wake-up."""
        jobs: list[NewJob] = []
        seen: set[str] = set()
        data = trail.request_data_json()

        def statement(chunk: Sequence[NewJob]) -> dict[str, Any]:
            records = [_job_record(job) for job in chunk]  # checked before it is sent
            codec.check_distinct_ids(chunk, seen)
            jobs.extend(chunk)
            return {"rows": records, "ids": [job.id for job in chunk], "actor": actor,
                    "data": data}

        statements = map(statement, chunks)
        if several:
            rows = tx.rows_many("insert_jobs", statements)
        else:
            first = next(statements, None)
            rows = tx.rows("insert_jobs", **first) if first and first["rows"] else []
        written = {row["id"]: row for row in rows}
        tx.wake({job.queue for job in jobs
                 if job.id in written and written[job.id]["status"] == "queued"})
        skipped = [job for job in jobs if job.id not in written
                   ] if len(written) < len(jobs) else []
        existing = codec.skipped_jobs(skipped, self._jobs(tx.rows(
            "existing_jobs", ids=[job.id for job in skipped],
            keys=[job.unique_key for job in skipped if job.unique_key]), tx)[0]
        ) if skipped else {}
        # a row carries run_at only where it is not the statement's time (created_at,
        # on the first row): one timestamp decoded per enqueue, not two per job
        created_at = self.driver.time(rows[0]["created_at"]) if rows else None
        return [codec.job_from_new(job, row["status"], created_at if row["run_at"] is None
                                   else self.driver.time(row["run_at"]), created_at)
                if (row := written.get(job.id)) else existing[job.id] for job in jobs]

    @_operation
    def claim_jobs(self, worker_id: str, queues: Sequence[str], limit: int) -> list[Job]:
        if limit <= 0 or not queues or self.driver.nothing_due(queues):
            return []
        with self.driver.write(one_statement=True) as tx:  # due -> queued, then claimed
            rows = tx.rows("claim_jobs", worker_id=worker_id, queues=list(queues),
                           limit=limit)
        if not rows or time.monotonic() - self._limited_at > LIMITED_EVERY:
            rows += self._claim_limited(worker_id, queues, limit - len(rows))
        decoded, corrupt = self._jobs(rows)  # a corrupt row never stalls the rest
        jobs = [job for job in decoded if job.id not in corrupt]
        jobs.sort(key=lambda job: (-job.priority, job.run_at or datetime.min, job.id))
        return jobs

    def _claim_limited(self, worker_id: str, queues: Sequence[str], limit: int) -> list[Any]:
        """Claims on limited queues and key-limited jobs, which ``claim_jobs`` passes
        over, serialized (``lock_claims``) so the running counts read here are exact for
        every worker. Asked when the plain claim found nothing (never on the way of a
        claimed job), and at least every LIMITED_EVERY seconds so a plain backlog cannot
        starve limited work."""
        self._limited_at = time.monotonic()
        if limit <= 0 or not self.driver.read("limited_work", queues=list(queues))[0]["found"]:
            return []
        with self.driver.write() as tx:
            tx.rows("lock_claims")
            rules = {row["name"]: row for row in tx.rows("queue_rules", queues=list(queues))}
            slots = {queue: limits.free_slots(rules.get(queue), limit)
                     for queue in dict.fromkeys(queues)}
            candidates = sorted(
                (row for queue, free in slots.items() if free
                 for row in tx.rows("limited_candidates", queue=queue, limit=free,
                                    keyed_only=queue not in rules)),
                key=_claim_order)
            picked = [row["id"] for row in limits.pick(candidates, slots, limit)]
            return tx.rows("claim_ids", worker_id=worker_id, ids=picked) if picked else []

    @_operation
    def finish_jobs(self, outcomes: Sequence[Outcome]) -> list[base.FinishResult]:
        if not outcomes:
            return []
        plain = [o for o in outcomes if o.kind != OutcomeKind.CANCELLED]
        recorded = self._finish_running(plain) if plain else {}
        checked = {result.job_id: result for result in self._finish_checked(
            [o for o in outcomes if o.job_id not in recorded])}
        return [base.FinishResult(o.job_id, True, recorded[o.job_id]) if o.job_id in recorded
                else checked[o.job_id] for o in outcomes]

    def _finish_running(self, outcomes: Sequence[Outcome]) -> dict[str, JobStatus]:
        """Outcomes of jobs plainly ``running``, the common case, in one statement (on
        PostgreSQL one round trip instead of five): their trail rows need nothing read
        first, since the statement writes only jobs it finds running. The ids written."""
        running = {"status": JobStatus.RUNNING, "cancel_reason": None}
        events = [{**trail.outcome_event(o, running, str(trail.OUTCOME_STATUS[o.kind]), None),
                   "worker_id": o.worker_id, "attempt": o.attempt} for o in outcomes]
        with self.driver.write(one_statement=True) as tx:
            return {row["id"]: JobStatus(row["status"]) for row in tx.rows(
                "finish_running", rows=[_outcome_record(o) for o in outcomes],
                ids=[o.job_id for o in outcomes], events=_event_records(events))}

    def _finish_checked(self, outcomes: Sequence[Outcome]) -> list[base.FinishResult]:
        """Any outcome, the job locked and read first: a cancel pending, a job taken
        away (the outcome refused, on the trail), a cancelled outcome."""
        if not outcomes:
            return []
        with self.driver.write() as tx:
            before = self._locked(tx, [outcome.job_id for outcome in outcomes])
            recorded = {row["id"]: JobStatus(row["status"]) for row in tx.rows(
                "finish_jobs", rows=[_outcome_record(outcome) for outcome in outcomes],
                ids=[outcome.job_id for outcome in outcomes])}
            self._trail(tx, [
                trail.outcome_event(o, before[o.job_id], recorded.get(o.job_id),
                                    _epoch(self.driver.time(before[o.job_id][
                                        "cancel_requested_at"])))
                for o in outcomes if o.job_id in before])
        return [base.FinishResult(o.job_id, o.job_id in recorded, recorded.get(o.job_id) or (
            JobStatus(before[o.job_id]["status"]) if o.job_id in before else None))
            for o in outcomes]

    @_operation
    def record_progress(self, updates: Sequence[base.ProgressUpdate]) -> list[str]:
        if not updates:
            return []
        with self.driver.write(one_statement=True) as tx:
            applied = {row["id"] for row in tx.rows("record_progress", rows=[
                {"id": u.job_id, "worker_id": u.worker_id, "attempt": u.attempt,
                 "phase": u.phase, "current": u.current, "total": u.total,
                 "message": codec.clean_text(u.message)} for u in updates],
                ids=[u.job_id for u in updates])}
        return [u.job_id for u in updates if u.job_id not in applied]

    def mark_stalled(self, job_id: str, worker_id: str, attempt: int) -> bool:
        return self._mark("mark_stalled", "stalled", job_id, worker_id, attempt)

    def mark_unresponsive(self, job_id: str, worker_id: str, attempt: int) -> bool:
        return self._mark("mark_unresponsive", "unresponsive", job_id, worker_id, attempt)

    @_operation
    def _mark(self, query: str, kind: str, job_id: str, worker_id: str, attempt: int) -> bool:
        with self.driver.write() as tx:
            marked = tx.rows(query, id=job_id, worker_id=worker_id, attempt=attempt)
            self._trail(tx, [trail.event(job_id, kind, actor=worker_id,
                                         data={"attempt": attempt})] if marked else [])
        return bool(marked)

    @_operation
    def save_result(self, job_id: str, worker_id: str, attempt: int, result: JSON) -> bool:
        with self.driver.write(one_statement=True) as tx:
            return bool(tx.rows("save_result", id=job_id, worker_id=worker_id,
                                attempt=attempt, result=json.dumps(result)))

    @_operation
    def add_events(self, events: Sequence[base.NewEvent]) -> None:
        if events:
            with self.driver.write(one_statement=True) as tx:
                self._trail(tx, [trail.event(e.job_id, e.kind, actor=e.actor, reason=e.reason,
                                             data=e.data) for e in events])

    # -- requests: cancel, restart, run now, release, reset ---------------------------------

    @_operation
    def cancel_jobs(self, ids: base.Selection, *, actor: str | None, reason: str | None,
                    force: bool = False) -> list[base.StatusChange]:
        if not ids:
            return []
        if not isinstance(ids, base.JobFilter) and len(ids) <= self.driver.cancel_at_once:
            return self._cancel_now(list(dict.fromkeys(ids)), actor=actor, reason=reason,
                                    force=force)
        with self.driver.write() as tx:
            return self._cancel(tx, self._select(tx, ids), actor=actor, reason=reason,
                                force=force)

    def _cancel_now(self, ids: list[str], *, actor: str | None, reason: str | None,
                    force: bool) -> list[base.StatusChange]:
        """``_cancel`` as one statement (PostgreSQL: one round trip instead of six, the
        most of a cancel's latency): the same guard, trail rows and stop requests."""
        leavable = LEAVES_ON_CANCEL + ([str(JobStatus.CANCELLING)] if force else [])
        row = trail.cancel_event("", "", "", actor=actor, reason=reason, force=force)
        rows = self.driver.cancel_now(
            ids=ids, statuses=leavable, force=force, reason=reason, actor=actor,
            trail_actor=row["actor"], trail_reason=row["reason"],
            data=json.dumps(row["data"]) if row["data"] else None)
        before = {r["before_id"]: r for r in rows}
        written = {job.id: job for job in self._jobs([r for r in rows if r["id"]])[0]}
        return [base.StatusChange(job_id, JobStatus(r["before_status"]),
                                  written[job_id].status if job_id in written
                                  else JobStatus(r["before_status"]),
                                  r["before_worker"], written.get(job_id))
                for job_id in ids if (r := before.get(job_id)) is not None]

    def _cancel(self, tx: Tx, ids: Sequence[str], *, actor: str | None, reason: str | None,
                force: bool) -> list[base.StatusChange]:
        """The cancel transition inside a write transaction (see ``cancel_jobs``)."""
        leavable = LEAVES_ON_CANCEL + ([str(JobStatus.CANCELLING)] if force else [])
        changes = self._transition(tx, ids, "cancel_jobs", statuses=leavable, force=force,
                                   reason=reason, actor=actor)
        moved = [c for c in changes if c.changed]
        self._trail(tx, [trail.cancel_event(c.job_id, c.from_status, c.to_status,
                                            actor=actor, reason=reason, force=force)
                         for c in moved])
        by_worker: dict[str, list[str]] = defaultdict(list)
        for change in moved:
            if change.from_status in IN_FLIGHT and change.worker_id:
                by_worker[change.worker_id].append(change.job_id)
        for worker_id, job_ids in by_worker.items():
            tx.stop(worker_id, job_ids, force)
        return changes

    @_operation
    def restart_jobs(self, ids: base.Selection, *, actor: str | None,
                     reason: str | None) -> list[base.StatusChange]:
        return self._request(ids, "restart_jobs", "restarted", actor=actor, reason=reason)

    @_operation
    def run_now(self, ids: Sequence[str], *, actor: str | None) -> list[base.StatusChange]:
        return self._request(ids, "run_now", "run_now", actor=actor, reason=None)

    def _request(self, ids: base.Selection, query: str, kind: str, *, actor: str | None,
                 reason: str | None) -> list[base.StatusChange]:
        """A person's request that puts jobs back in the queue (restart, run now): one
        guarded statement, a trail row per job it moved, their queues' workers woken."""
        if not ids:
            return []
        with self.driver.write() as tx:
            changes = self._transition(tx, self._select(tx, ids), query)
            moved = [c for c in changes if c.changed]
            self._trail(tx, [trail.event(c.job_id, kind, actor=actor, reason=reason,
                                         from_status=c.from_status, to_status=c.to_status)
                             for c in moved])
            tx.wake({c.job.queue for c in moved if c.job is not None})
        return changes

    def _transition(self, tx: Tx, ids: Sequence[str], query: str,
                    **params: Any) -> list[base.StatusChange]:
        """Lock the listed jobs (their status before), run the guarded ``query`` on them
        and return one change per known job, in the order listed; a job the statement
        moved carries its row as the statement wrote it. Unknown ids are absent."""
        before = self._locked(tx, ids)
        written = {job.id: job for job in self._jobs(
            tx.rows(query, ids=list(before), **params), tx)[0]}
        return [base.StatusChange(job_id, JobStatus(row["status"]),
                                  written[job_id].status if job_id in written
                                  else JobStatus(row["status"]),
                                  row["worker_id"], written.get(job_id))
                for job_id in ids if (row := before.get(job_id)) is not None]

    def _select(self, tx: Tx, selection: base.Selection) -> list[str]:
        """The ids a bulk request covers: listed, or matched by a filter in SQL inside
        the request's own transaction (no job slips in or out between the two)."""
        if isinstance(selection, base.JobFilter):
            query, params = _listing(selection, limit=None)
            return [row["id"] for row in tx.rows(query, **params)]
        return list(dict.fromkeys(selection))

    def _locked(self, tx: Tx, ids: Sequence[str]) -> dict[str, Any]:
        """The listed jobs as they are before a transition, locked until commit where the
        backend locks rows (``statuses_of``): the "from" status of the trail is the one
        really left."""
        return {row["id"]: row for row in tx.rows("statuses_of", ids=list(dict.fromkeys(ids)))}

    @_operation
    def release_jobs(self, worker_id: str, ids: Sequence[str], *, reason: str) -> list[str]:
        if not ids:
            return []
        with self.driver.write() as tx:
            rows = tx.rows("release_jobs", worker_id=worker_id, ids=list(ids))
            self._trail(tx, [trail.event(row["id"], "released", actor=worker_id, reason=reason,
                                         from_status="running", to_status=row["status"],
                                         data={"attempt": row["attempt"],
                                               "attempt_counted": False}) for row in rows])
            tx.wake({row["queue"] for row in rows})
        return [row["id"] for row in rows]

    @_operation
    def reset_stuck(self, started_before: datetime, *, lease: float, actor: str,
                    reason: str | None, dry_run: bool = False) -> list[base.StatusChange]:
        dead = list(self.driver.dead_workers(lease, dry_run=dry_run).ids)
        if dry_run:
            return [base.StatusChange(row["id"], JobStatus(row["status"]),
                                      JobStatus.FAILED if row["lost"] else JobStatus.CANCELLING,
                                      row["worker_id"])
                    for row in self.driver.read("stuck_preview", dead=dead,
                                                cutoff=started_before)]
        reason = reason or "reset_stuck"
        with self.driver.write() as tx:
            tx.rows("mark_workers_dead", ids=dead)
            candidates = {row["id"]: row for row in tx.rows("stuck_of_dead_workers",
                                                            cutoff=started_before)}
            failed = {row["id"]: row["status"] for row in tx.rows(
                "fail_lost_jobs", ids=list(candidates), error=json.dumps(STUCK_LOST))}
            self._trail(tx, [trail.event(
                job_id, "failed", actor=actor, reason=reason,
                from_status=candidates[job_id]["status"], to_status=status,
                data={"attempt": candidates[job_id]["attempt"],
                      "worker_id": candidates[job_id]["worker_id"],
                      "error_type": "WorkerLost"}) for job_id, status in failed.items()])
            live = [row["id"] for row in tx.rows("running_started_before",
                                                 cutoff=started_before)]
            cancelled = self._cancel(tx, live, actor=actor, reason=reason, force=False)
        return [base.StatusChange(job_id, JobStatus(candidates[job_id]["status"]),
                                  JobStatus(status), candidates[job_id]["worker_id"])
                for job_id, status in failed.items()
                ] + [change for change in cancelled if change.changed]

    # -- reading --------------------------------------------------------------------------

    @_operation
    def get_job(self, job_id: str) -> Job | None:
        rows = self.driver.read("get_job", id=job_id)
        return self._jobs(rows)[0][0] if rows else None

    @_operation
    def jobs_matching_id(self, digits: str, *, limit: int) -> list[Job]:
        id_low, id_high = prefix_bounds(digits)
        tail, pattern = suffix_probe(digits)
        return self._jobs(self.driver.read("jobs_matching_id", id_low=id_low, id_high=id_high,
                                           tail=tail, pattern=pattern, limit=limit))[0]

    @_operation
    def list_jobs(self, where: base.JobFilter, *, limit: int | None = 100) -> list[Job]:
        query, params = _listing(where, limit=limit)
        return self._jobs(self.driver.read(query, **params))[0]

    def _jobs(self, rows: Sequence[Any], tx: Tx | None = None) -> tuple[list[Job], set[str]]:
        """``rows`` as Jobs, and the ids of those quarantined because they do not decode
        (``corral.store.quarantine``; in ``tx`` when given, else in a write of its own)."""
        def apply(entries: list[quarantine.Corrupt]) -> set[str]:
            if tx is not None:
                return self._quarantine(tx, entries)
            with self.driver.write() as own:
                return self._quarantine(own, entries)

        def reread(ids: list[str]) -> Sequence[Any]:
            return (tx.rows if tx is not None else self.driver.read)("jobs_by_ids", ids=ids)

        return quarantine.decode(rows, self.driver.time, self.driver.json_value, apply, reread)

    def _quarantine(self, tx: Tx, entries: list[quarantine.Corrupt]) -> set[str]:
        moved = {row["id"] for row in tx.rows("quarantine_jobs", rows=[
            {"id": e.job_id, "status": e.status, "error": json.dumps(e.error)}
            for e in entries])}
        self._trail(tx, [quarantine.event(e) for e in entries if e.job_id in moved])
        return moved

    @_operation
    def job_events(self, job_id: str) -> list[JobEvent]:
        return [JobEvent(id=row["id"], job_id=row["job_id"], at=_required(self.driver.time(
                    row["at"])), kind=row["kind"], actor=row["actor"], reason=row["reason"],
                    from_status=JobStatus(row["from_status"]) if row["from_status"] else None,
                    to_status=JobStatus(row["to_status"]) if row["to_status"] else None,
                    data=self._event_data(row["data"]))
                for row in self.driver.read("job_events", job_id=job_id)]

    def _event_data(self, value: Any) -> dict[str, JSON]:
        """A trail row's data; a value that does not read back as an object is none."""
        if value is None:
            return {}
        try:
            data = self.driver.json_value(value)
        except codec.CorruptRow:
            return {}
        return data if isinstance(data, dict) else {}

    # -- queues ---------------------------------------------------------------------------

    @_operation
    def set_queue(self, name: str, *, concurrency: int | None = None,
                  clear_concurrency: bool = False, paused: bool | None = None) -> None:
        with self.driver.write() as tx:
            tx.rows("set_queue", name=name, concurrency=concurrency,
                    clear_concurrency=clear_concurrency, paused=paused)
            tx.wake({name})  # a resumed or widened queue may have work now

    @_operation
    def job_counts(self, since: datetime) -> dict[str, int]:
        return {row["name"]: row["n"] for row in self.driver.read("job_counts", since=since)}

    @_operation
    def jobs_per_queue(self) -> list[tuple[str, JobStatus, int]]:
        return [(row["queue"], JobStatus(row["status"]), int(row["n"]))
                for row in self.driver.read("jobs_per_queue")]

    @_operation
    def queue_stats(self) -> list[base.QueueInfo]:
        return [base.QueueInfo(row["name"], row["concurrency"], bool(row["paused"]),
                               row["queued"], row["scheduled"], row["running"])
                for row in self.driver.read("queue_stats")]

    # -- batches, ticks, deletion, retention -------------------------------------------------

    @_operation
    def enqueue_tick(self, name: str, tick: datetime, job: NewJob, *, actor: str) -> bool:
        with self.driver.write() as tx:
            if not tx.count("insert_tick", name=name, tick=tick, job_id=job.id):
                held = tx.rows("tick_job", name=name, tick=tick)
                if not held or held[0]["job_id"] != job.id:
                    return False  # another scheduler's; else a retry of ours, committed
            self._insert_jobs(tx, [[job]], actor)
        return True

    @_operation
    def get_batch(self, batch_id: str) -> Batch | None:
        found = self._batches(batch_id=batch_id, limit=1)
        return found[0] if found else None

    @_operation
    def list_batches(self, *, limit: int = 50, before_id: str | None = None) -> list[Batch]:
        return self._batches(before_id=before_id, limit=limit)

    def _batches(self, *, batch_id: str | None = None, before_id: str | None = None,
                 limit: int) -> list[Batch]:
        """One batch, or a page of them, with their counts: one statement either way."""
        return batches_from_rows(self.driver.read("batches", id=batch_id, before_id=before_id,
                                                  limit=limit), self.driver.time)

    @_operation
    def complete_batches(self, *, actor: str) -> list[str]:
        if not self.driver.read("any_finished_batch")[0]["found"]:
            return []
        with self.driver.write() as tx:
            jobs = [on_complete_job(_object(self.driver.json_value(row["on_complete"])),
                                    uuid7(), row["id"])
                    for row in tx.rows("finished_batches")]
            self._insert_jobs(tx, [jobs], actor)
        return [job.id for job in jobs]

    @_operation
    def delete_jobs(self, ids: base.Selection) -> list[base.Deletion]:
        if not ids:
            return []
        with self.driver.write() as tx:
            listed = self._select(tx, ids)
            before = self._locked(tx, listed)
            deleted = {row["id"] for row in tx.rows("delete_jobs", ids=list(before))}
        return [base.Deletion(job_id, JobStatus(before[job_id]["status"]), job_id in deleted)
                for job_id in listed if job_id in before]

    @_operation
    def prune_jobs(self, *, completed_before: datetime, failed_before: datetime) -> int:
        pruned = 0
        while True:  # in chunks, so no transaction holds many rows or the lock for long
            with self.driver.write(one_statement=True) as tx:
                deleted = tx.count("prune_jobs", completed_before=completed_before,
                                   failed_before=failed_before, chunk=PRUNE_CHUNK)
            pruned += deleted
            if deleted < PRUNE_CHUNK:
                break
        with self.driver.write(one_statement=True) as tx:
            tx.count("prune_ticks", before=completed_before)
        return pruned

    # -- workers and notifications -------------------------------------------------------------

    @_operation
    def register_worker(self, worker: base.WorkerInfo) -> None:
        with self.driver.write(one_statement=True) as tx:
            tx.rows("register_worker", id=worker.id, host=worker.host, pid=worker.pid,
                    queues=list(worker.queues), concurrency=worker.concurrency,
                    version=worker.version, doorbell=worker.doorbell,
                    lock_key=self.driver.lock_key(worker.id))

    @_operation
    def heartbeat(self, worker_id: str) -> list[base.HeldJob]:
        with self.driver.write(one_statement=True) as tx:
            rows = tx.rows("heartbeat", worker_id=worker_id)
        return [base.HeldJob(row["id"], JobStatus(row["status"]), row["attempt"])
                for row in rows]

    @_operation
    def deregister_worker(self, worker_id: str) -> None:
        with self.driver.write(one_statement=True) as tx:
            tx.rows("deregister_worker", worker_id=worker_id)

    @_operation
    def list_workers(self) -> list[base.WorkerRecord]:
        return [base.WorkerRecord(
            id=row["id"], host=row["host"], pid=row["pid"],
            queues=tuple(_list(self.driver.json_value(row["queues"]))),
            concurrency=row["concurrency"], version=row["version"], doorbell=row["doorbell"],
            started_at=_required(self.driver.time(row["started_at"])),
            last_seen=_required(self.driver.time(row["last_seen"])), state=row["state"])
            for row in self.driver.read("list_workers")]

    def acquire_liveness(self, worker_id: str) -> base.Liveness:
        return self.driver.acquire_liveness(worker_id)

    @_operation
    def reap(self, *, lease: float, actor: str) -> base.ReapReport:
        dead = self.driver.dead_workers(lease)
        if not dead.ids and not self.driver.read("has_orphans"):
            return base.ReapReport(confirm_in=dead.confirm_in)
        with self.driver.write() as tx:
            newly_dead = tuple(row["id"] for row in tx.rows("mark_workers_dead",
                                                            ids=list(dead.ids)))
            requeued = tx.rows("requeue_orphans")
            failed = tx.rows("fail_orphans", error=json.dumps(trail.WORKER_LOST))
            cancelled = tx.rows("cancel_orphans")
            self._trail(tx, trail.recovery_events(actor, requeued, failed, cancelled))
            tx.wake({row["queue"] for row in requeued})
        return base.ReapReport(newly_dead, tuple(r["id"] for r in requeued),
                               tuple(r["id"] for r in failed), tuple(r["id"] for r in cancelled),
                               confirm_in=dead.confirm_in)

    @_operation
    def prune_workers(self, *, gone_for: float) -> int:
        with self.driver.write(one_statement=True) as tx:
            return tx.count("prune_workers", gone_for=gone_for)

    @_operation
    def prune_notifications(self, older_than: datetime) -> int:
        return self.driver.prune_signals(older_than)

    def open_listener(self) -> base.Listener:
        return self.driver.open_listener()

    def keep_connection(self) -> base.KeptConnection:
        return self.driver.keep_connection()

    def open_change_feed(self) -> ChangeFeed:
        return self.driver.open_change_feed()

    # -- the trail ----------------------------------------------------------------------------

    @staticmethod
    def _trail(tx: Tx, events: list[trail.Event]) -> None:
        """Append trail rows in the caller's transaction (one statement for any number)."""
        if events:
            tx.rows("insert_events", rows=_event_records(events))


class _Drawn:
    """The jobs of one enqueue, drawn from the caller's iterable as the write reaches them
    (a generator makes each job while the database inserts the chunk before) and kept: an
    attempt the driver runs again (a lost connection) writes the very jobs, ids included,
    that the first attempt wrote."""

    def __init__(self, source: Iterable[NewJob]) -> None:
        self._source = iter(source)
        self._drawn: list[NewJob] = []

    def _draw(self, count: int) -> None:
        if len(self._drawn) < count:
            self._drawn.extend(itertools.islice(self._source, count - len(self._drawn)))

    def chunk(self, index: int) -> list[NewJob]:
        """The ``index``-th ``INSERT_CHUNK`` jobs (fewer at the end, none past it)."""
        self._draw((index + 1) * INSERT_CHUNK)
        return self._drawn[index * INSERT_CHUNK:(index + 1) * INSERT_CHUNK]

    def chunks(self) -> Iterator[list[NewJob]]:
        for index in itertools.count():
            chunk = self.chunk(index)
            if not chunk:
                return
            yield chunk

    def longer_than(self, count: int) -> bool:
        self._draw(count + 1)
        return len(self._drawn) > count


# -- records sent to the SQL -------------------------------------------------------------------


def _job_record(job: NewJob) -> dict[str, Any]:
    """A new job as the ``insert_jobs`` record both backends read: values checked, JSON
    columns as the text ``json.dumps`` wrote (stored as written: numbers and key order
    round-trip), times as epoch seconds."""
    return {
        "id": job.id, "task": job.task,
        "args": job.args_json or codec.encode_json(job.args, "args"),
        "kwargs": job.kwargs_json or codec.encode_json(job.kwargs, "kwargs"),
        "queue": codec.check_text(job.queue, "queue"), "priority": job.priority,
        "max_attempts": job.max_attempts, "run_at": _epoch(codec.check_run_at(job.run_at)),
        "timeout": job.timeout, "batch_id": job.batch_id, "limit_key": job.limit_key,
        "key_limit": job.key_limit,
        "unique_key": codec.check_text(job.unique_key, "unique_key"),
        "meta": job.meta_json or codec.encode_json(job.meta, "meta"),
    }


def _event_records(events: list[trail.Event]) -> list[dict[str, Any]]:
    """Trail rows as the queries read them (data as JSON text)."""
    return [{**e, "data": json.dumps(e["data"]) if e["data"] else None} for e in events]


def _outcome_record(outcome: Outcome) -> dict[str, Any]:
    """One ``finish_jobs`` record (JSON columns as text, like ``_job_record``)."""
    error = outcome.error
    return {
        "id": outcome.job_id, "worker_id": outcome.worker_id, "attempt": outcome.attempt,
        "status": str(trail.OUTCOME_STATUS[outcome.kind]), "has_result": outcome.has_result,
        "result": json.dumps(outcome.result) if outcome.has_result else None,
        "error": json.dumps({"type": codec.clean_text(error.type),
                             "message": codec.clean_text(error.message),
                             "traceback": codec.clean_text(error.traceback)})
        if error else None,
        "run_at": _epoch(outcome.retry_at), "phase": outcome.phase,
    }


def _listing(where: base.JobFilter, *, limit: int | None) -> tuple[str, dict[str, Any]]:
    """The query and parameters that list the jobs ``where`` matches, newest first (with
    labels, a walk of one label's jobs in ``job_labels``)."""
    id_low, id_high = where.id_bounds()
    return ("list_jobs_labelled" if where.meta else "list_jobs", {
        "statuses": [str(s) for s in where.statuses] if where.statuses else None,
        "ids": list(where.ids) if where.ids is not None else None,
        "queue": where.queue, "task": where.task, "batch_id": where.batch_id,
        "limit_key": where.limit_key, "created_before": where.created_before,
        "created_after": where.created_after, "before_id": where.before_id,
        "id_low": id_low, "id_high": id_high, "meta": where.meta_json(), "limit": limit})


def _claim_order(row: Row) -> tuple[float, float, str]:
    """Best first; a value a manual edit left unsortable sorts last (the row is then
    quarantined when it is decoded)."""
    priority, run_at = row["priority"], row["run_at"]
    if isinstance(run_at, datetime):
        run_at = run_at.timestamp()
    return (-priority if isinstance(priority, int) else float("inf"),
            run_at if isinstance(run_at, int | float) else float("inf"), str(row["id"]))


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _required(value: datetime | None) -> datetime:
    return value if value is not None else datetime.fromtimestamp(0, UTC)


def _object(value: JSON) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: JSON) -> list[Any]:
    return value if isinstance(value, list) else []
