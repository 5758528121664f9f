"""Live routes: the long-poll and the server-sent event streams (DESIGN §8).

Each is an ``async`` route waiting on a ``LiveHub`` subscription, so an idle watcher holds
no thread and no connection. A watcher subscribes *before* it reads the current state, so
no change falls between the two. Streams end when what they watch ends (job or batch
finished, job deleted) or when the client goes (Starlette cancels the generator).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from corral import errors
from corral.app import Corral
from corral.batch import Batch
from corral.http import models as m
from corral.http.live import Change, LiveHub, Subscription
from corral.http.routes import FlatRouter
from corral.job import Job

logger = logging.getLogger("corral.http")
MAX_POLL_S = 60.0
BATCH_REREAD_EVERY = 0.1  # seconds: a busy batch is re-counted at most this often

STREAM_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}},
                    "description": "Server-sent events (see the route's description)."}}


def _job_event(kind: str, job: Job) -> ServerSentEvent | None:
    """The event, encoded here: a job that cannot be encoded is logged and skipped, so it
    never ends the stream (the store quarantines rows it cannot read; this is the last
    guard)."""
    try:
        return ServerSentEvent(event=kind, raw_data=m.JobOut.of(job).model_dump_json(),
                               id=job.id)
    except Exception:
        logger.exception("live stream: job %r cannot be encoded; skipped", job.id)
        return None


def _batch_event(kind: str, batch: Batch) -> ServerSentEvent:
    return ServerSentEvent(event=kind, data=m.BatchOut.of(batch), id=batch.id)


def live_routes(router: FlatRouter, corral: Corral, hub: LiveHub) -> None:
    async def job_watch(job_id: str) -> AsyncIterator[tuple[Job, Subscription]]:
        """The job as it is now, and a subscription to its changes; 404 before the
        response starts if there is no such job (``job_id`` as a person gives it: full,
        short, a unique prefix or suffix)."""
        job_id = await run_in_threadpool(corral.resolve_id, job_id)
        with hub.subscribe(job_id=job_id) as subscription:
            yield await run_in_threadpool(corral.get_job, job_id), subscription

    async def batch_watch(batch_id: str) -> AsyncIterator[BatchWatch]:
        """The batch now, its job ids (read before it, so a job deleted in between is
        both in them and announced), and a subscription to its changes."""
        with hub.subscribe(batch_id=batch_id) as subscription:
            members = await run_in_threadpool(_member_ids, corral, batch_id)
            batch = await run_in_threadpool(corral.get_batch, batch_id)
            yield BatchWatch(batch, subscription, members)

    # dependencies run before the response starts: an unknown id is a plain 404
    watch_job, watch_batch = Depends(job_watch), Depends(batch_watch)

    @router.get("/jobs/{job_id}/poll", response_model=m.JobOut, tags=["jobs"])
    async def poll(
        watch: tuple[Job, Subscription] = watch_job,
        current_status: Annotated[str | None, Query(
            description="return as soon as the job's status differs from this")] = None,
        timeout: Annotated[float, Query(ge=0, le=MAX_POLL_S)] = 25.0,
    ) -> m.JobOut:
        """Long-poll: the job once its status differs from ``current_status`` (or once it
        is finished, without ``current_status``), else the job as it is after ``timeout``
        seconds."""
        job, subscription = watch
        deadline = time.monotonic() + timeout

        def changed(job: Job) -> bool:
            return str(job.status) != current_status if current_status else job.is_terminal

        while not changed(job):
            change = await subscription.next(deadline - time.monotonic())
            if change is None:
                break
            job = await _current(corral, job, change)
        return m.JobOut.of(job)

    @router.get("/jobs/{job_id}/stream", response_class=EventSourceResponse,
                responses=STREAM_DOC, tags=["live"])
    async def job_stream(watch: tuple[Job, Subscription] = watch_job
                         ) -> AsyncIterator[ServerSentEvent]:
        """``job_update`` with the job now and after every change, then ``job_complete``
        once it is finished (or ``job_deleted``), and the stream ends."""
        job, subscription = watch
        while not job.is_terminal:
            if (update := _job_event("job_update", job)) is not None:
                yield update
            change = await subscription.next()
            if change is not None and change.kind == "deleted":
                yield ServerSentEvent(event="job_deleted", data={"id": job.id}, id=job.id)
                return
            job = await _current(corral, job, change)
        if (complete := _job_event("job_complete", job)) is not None:
            yield complete

    @router.get("/batches/{batch_id}/stream", response_class=EventSourceResponse,
                responses=STREAM_DOC, tags=["live"])
    async def batch_stream(watch: BatchWatch = watch_batch) -> AsyncIterator[ServerSentEvent]:
        """``batch_update`` (counts, progress, state) now and as its jobs change,
        ``job_deleted`` (``{id, batch_id}``) when one of its jobs is deleted, then
        ``batch_complete`` once none of its jobs is active, and the stream ends."""
        batch = watch.batch
        while not batch.is_finished:
            yield _batch_event("batch_update", batch)
            for job_id in await watch.next_changes(corral):
                yield ServerSentEvent(event="job_deleted",
                                      data={"id": job_id, "batch_id": batch.id}, id=job_id)
            batch = await run_in_threadpool(corral.get_batch, batch.id)
        yield _batch_event("batch_complete", batch)

    @router.get("/events/stream", response_class=EventSourceResponse, responses=STREAM_DOC,
                tags=["live"])
    async def event_stream() -> AsyncIterator[ServerSentEvent]:
        """Every change: ``job_update`` (the job as it is now), ``job_deleted``, and
        ``resync`` when changes were missed (re-read what you show). The web UI's feed."""
        with hub.subscribe() as subscription:
            yield ServerSentEvent(event="ready", data={})
            while True:
                change = await subscription.next()
                if change is None:
                    continue
                if change.kind == "update" and change.job is not None:
                    if (update := _job_event("job_update", change.job)) is not None:
                        yield update
                elif change.kind == "deleted":
                    yield ServerSentEvent(event="job_deleted", data={"id": change.job_id})
                else:
                    yield ServerSentEvent(event="resync", data={})


def _member_ids(corral: Corral, batch_id: str) -> set[str]:
    return {job.id for job in corral.list_jobs(batch_id=batch_id, limit=None)}


@dataclass
class BatchWatch:
    """A batch stream's view: the batch, its subscription, and the ids of its jobs, kept
    so that a deletion (which the hub sends to every batch watcher) is told only on the
    stream of the batch that had the job. Touched on the event loop only."""

    batch: Batch
    subscription: Subscription
    members: set[str]

    async def next_changes(self, corral: Corral) -> list[str]:
        """Wait for a change to the batch, then gather the burst that follows (one
        re-count for all of it); return the ids of its jobs deleted meanwhile. Deletions
        of other batches' jobs are passed over."""
        deleted: list[str] = []
        started: float | None = None
        while True:
            left = None if started is None else BATCH_REREAD_EVERY - (time.monotonic() - started)
            change = await self.subscription.next(left)
            if change is None:
                return deleted
            if change.kind == "deleted":
                if change.job_id not in self.members:
                    continue
                self.members.discard(change.job_id)
                deleted.append(change.job_id)
            elif change.kind == "update" and change.job is not None:
                self.members.add(change.job.id)
            else:  # resync: changes were missed, deletions among them
                now = await run_in_threadpool(_member_ids, corral, self.batch.id)
                deleted += sorted(self.members - now)
                self.members = now
            if started is None:
                started = time.monotonic()


async def _current(corral: Corral, job: Job, change: Change | None) -> Job:
    """The job after ``change``: carried by it, or re-read (resync); a deleted job is
    JobNotFound."""
    if change is not None and change.kind == "update" and change.job is not None:
        return change.job
    if change is not None and change.kind == "deleted":
        raise errors.JobNotFound(job.id)
    return await run_in_threadpool(corral.get_job, job.id)
