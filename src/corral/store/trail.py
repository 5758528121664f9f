"""The audit trail rows every backend writes, built in one place.

A backend runs its guarded statement, then hands the rows it changed to these builders:
the kinds, reasons and data of the trail are the same whatever the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from corral.job import JSON
from corral.outcome import Outcome, OutcomeKind
from corral.status import JobStatus
from corral.store import codec

Event = dict[str, Any]
"""job_id, kind, actor, reason, from_status, to_status, data (a dict or None)."""

OUTCOME_STATUS = {
    OutcomeKind.COMPLETED: JobStatus.COMPLETED,
    OutcomeKind.FAILED: JobStatus.FAILED,
    OutcomeKind.RETRY: JobStatus.SCHEDULED,
    OutcomeKind.CANCELLED: JobStatus.CANCELLED,
}
OUTCOME_EVENT = {
    OutcomeKind.COMPLETED: "completed",
    OutcomeKind.FAILED: "failed",
    OutcomeKind.RETRY: "retry_scheduled",
    OutcomeKind.CANCELLED: "cancelled",
}
REQUEST_DATA: ContextVar[dict[str, JSON] | None] = ContextVar("corral_request_data",
                                                            default=None)
"""What the request being served adds to the data of every trail row it writes (the HTTP
client address, ``{"client": "10.0.0.7"}``). Set by the HTTP layer (``auth.
actor_dependency``) in the request's context; worker, reaper and CLI rows never see it."""
WORKER_LOST = {"type": "WorkerLost", "message": "the worker running this job died",
               "traceback": None}


def request_data_json() -> str | None:
    """``REQUEST_DATA`` as JSON, for trail rows a backend writes in SQL (PostgreSQL's
    ``enqueued`` rows); None outside a request."""
    request = REQUEST_DATA.get()
    return json.dumps(request) if request else None


def event(
    job_id: str,
    kind: str,
    *,
    actor: str | None = None,
    reason: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, JSON] | None = None,
) -> Event:
    request = REQUEST_DATA.get()
    if request:
        data = {**request, **(data or {})}
    return {"job_id": job_id, "kind": kind, "actor": codec.clean_text(actor),
            "reason": codec.clean_text(reason), "from_status": from_status,
            "to_status": to_status, "data": data or None}


def outcome_event(outcome: Outcome, before: Mapping[str, Any], written: str | None,
                  cancel_requested_at: float | None) -> Event:
    """The row for one outcome: its transition to ``written`` (the status the fenced
    statement wrote), or a note that it was refused (``written`` None). ``before`` is the
    job as locked before the write (status, cancel_reason)."""
    data: dict[str, JSON] = {"attempt": outcome.attempt}
    if outcome.error:
        data["error_type"] = codec.clean_text(outcome.error.type)
        data["message"] = codec.clean_text(outcome.error.message)
    if written is None:
        data.update(worker_id=outcome.worker_id, outcome=outcome.kind.value,
                    status=before["status"])
        return event(outcome.job_id, "outcome_refused", actor=outcome.worker_id,
                     reason="the worker no longer holds this job", data=data)
    from_status = before["status"]
    reason = outcome.reason or (outcome.error.type if outcome.error else None)
    if outcome.kind == OutcomeKind.CANCELLED:
        reason = outcome.reason or before["cancel_reason"]
        data["was_in_phase"] = outcome.phase
        if cancel_requested_at is not None:
            latency = outcome.ended_at - cancel_requested_at
            data["latency_ms"] = round(max(latency, 0.0) * 1000, 3)
    elif from_status == JobStatus.CANCELLING:
        data["cancel_too_late"] = True
    if outcome.retry_at is not None:
        data["run_at"] = outcome.retry_at.isoformat()
    return event(outcome.job_id, OUTCOME_EVENT[outcome.kind], actor=outcome.worker_id,
                 reason=reason, from_status=from_status, to_status=written, data=data)


def recovery_events(actor: str, requeued: Sequence[Mapping[str, Any]],
                    failed: Sequence[Mapping[str, Any]],
                    cancelled: Sequence[Mapping[str, Any]]) -> list[Event]:
    """Rows for the jobs a reaper moved off a dead worker (each guard names the status
    it leaves; the status written is the row's)."""
    def base(row: Mapping[str, Any]) -> dict[str, JSON]:
        return {"attempt": row["attempt"], "worker_id": row["worker_id"]}

    return (
        [event(r["id"], "worker_lost", actor=actor, reason="WorkerLost",
               from_status="running", to_status=r["status"], data=base(r)) for r in requeued]
        + [event(r["id"], "failed", actor=actor, reason="WorkerLost", from_status="running",
                 to_status=r["status"], data={**base(r), "error_type": "WorkerLost"})
           for r in failed]
        + [event(r["id"], "cancelled", actor=actor, reason="worker lost while cancelling",
                 from_status="cancelling", to_status=r["status"],
                 data={**base(r), "was_in_phase": r["phase"]}) for r in cancelled]
    )


def cancel_event(change_job_id: str, from_status: str, to_status: str, *, actor: str | None,
                 reason: str | None, force: bool) -> Event:
    return event(change_job_id, cancel_kind(to_status), actor=actor, reason=reason,
                 from_status=from_status, to_status=to_status,
                 data={"force": True} if force else None)


def cancel_kind(to_status: str) -> str:
    """The trail kind of a cancel that left a job in ``to_status`` (SQL spells the same)."""
    return "cancelled" if to_status == JobStatus.CANCELLED else "cancel_requested"
