"""Rows the store cannot read back, set aside instead of failing every read that meets them.

A row written by an older version or edited by hand may not decode (``codec.CorruptRow``:
a time past year 9999, JSON that does not parse, a status that is not one). Wherever a
read decodes rows (claim, list, get), the rows that fail are *quarantined*: one guarded
set-based UPDATE per backend moves each to ``failed`` with error type ``CorruptJob`` (the
problem in its message), guarded by the status it was read in, with a ``quarantined``
trail row (``status.QUARANTINE`` lists these moves); the
other rows of the same read are returned as usual. So a corrupt job never stalls its
claim batch, never fails a page or a feed, is listed as failed/CorruptJob and can be
deleted. Its columns are left as they were, for whoever investigates.

A row that lost the race (its status moved between the read and the UPDATE) is read again
and tried again, a few times; a claim's row is held by the claiming worker until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.job import Job, JobError
from corral.status import JobStatus
from corral.store import codec, trail

CORRUPT_JOB = "CorruptJob"
ATTEMPTS = 3
ACTOR = "corral"


@dataclass(frozen=True)
class Corrupt:
    """One row to quarantine: its id, the status it was read in (the guard), the error."""

    job_id: str
    status: str
    error: dict[str, Any]


def corrupt_error(problem: str) -> dict[str, Any]:
    return {"type": CORRUPT_JOB, "message": f"the stored job cannot be read back ({problem}); "
            "it was quarantined (columns left as found)", "traceback": None}


def is_quarantined(row: Mapping[str, Any], json_value: codec.JsonDecoder) -> JobError | None:
    """The CorruptJob error of a row already quarantined, else None."""
    if row["status"] != JobStatus.FAILED or row["error"] is None:
        return None
    try:
        error = codec.job_error(row, json_value)
    except codec.CorruptRow:
        return None
    return error if error is not None and error.type == CORRUPT_JOB else None


def event(entry: Corrupt) -> trail.Event:
    """The trail row of one quarantine (a status that is not a JobStatus goes in data)."""
    known = entry.status in set(JobStatus)
    return trail.event(entry.job_id, "quarantined", actor=ACTOR, reason=CORRUPT_JOB,
                       from_status=entry.status if known else None, to_status="failed",
                       data={"error_type": CORRUPT_JOB, "message": entry.error["message"],
                             **({} if known else {"stored_status": entry.status})})


def decode(
    rows: Sequence[Any],
    time: codec.TimeDecoder,
    json_value: codec.JsonDecoder,
    apply: Callable[[list[Corrupt]], set[str]],
    reread: Callable[[list[str]], Sequence[Any]],
) -> tuple[list[Job], set[str]]:
    """Every row as a Job, in order, and the ids of the rows that did not decode: those
    are quarantined by ``apply`` (the backend's guarded UPDATE: returns the ids it moved)
    and shown as failed/CorruptJob. ``reread`` reads rows again by id (after a lost
    race)."""
    jobs: list[Job | None] = []
    failing: dict[str, tuple[int, Any, str]] = {}  # id -> (position, row, problem)
    for row in rows:
        try:
            jobs.append(codec.job_from_row(row, time, json_value))
        except codec.CorruptRow as exc:
            failing[str(row["id"])] = (len(jobs), row, exc.problem)
            jobs.append(None)
    for _ in range(ATTEMPTS):
        pending: list[Corrupt] = []
        for job_id, (position, row, problem) in failing.items():
            if jobs[position] is not None:
                continue
            done = is_quarantined(row, json_value)
            if done is not None:
                jobs[position] = codec.stand_in(row, time, json_value, JobStatus.FAILED, done)
            else:
                pending.append(Corrupt(job_id, str(row["status"]), corrupt_error(problem)))
        if not pending:
            break
        moved = apply(pending)
        for entry in pending:
            if entry.job_id in moved:
                position, row, _ = failing[entry.job_id]
                jobs[position] = codec.stand_in(row, time, json_value, JobStatus.FAILED,
                                                JobError(**entry.error))
        lost = [entry.job_id for entry in pending if entry.job_id not in moved]
        for row in reread(lost) if lost else ():
            position, _, problem = failing[str(row["id"])]
            try:
                jobs[position] = codec.job_from_row(row, time, json_value)
            except codec.CorruptRow as exc:
                failing[str(row["id"])] = (position, row, exc.problem)
    for position, row, problem in failing.values():
        if jobs[position] is None:  # kept losing races, or gone: as it was last read
            status = JobStatus(row["status"]) if row["status"] in set(JobStatus) \
                else JobStatus.FAILED
            jobs[position] = codec.stand_in(row, time, json_value, status,
                                            JobError(**corrupt_error(problem)))
    return [job for job in jobs if job is not None], set(failing)
