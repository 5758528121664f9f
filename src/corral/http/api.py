"""Routes of the HTTP API under ``/api/v1``: every operation of the Python API.

Handlers are plain functions (the store is synchronous; FastAPI runs them in its thread
pool). Errors are ``{"error": <type>, "message": ..., **context}`` with the status codes of
DESIGN §8; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, FastAPI, Query, Response, params
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from corral import errors, web
from corral.app import Corral
from corral.http import docs, hardening, head, querystring
from corral.http import models as m
from corral.http.auth import ActorFunction, Tokens, actor_dependency, guard, http_actor
from corral.http.batcher import Batcher
from corral.http.live import LiveHub
from corral.http.problems import BodyLimit, install_problem_handlers
from corral.http.recent import Recent
from corral.http.routes import FlatRouter
from corral.http.streams import live_routes
from corral.job import Job
from corral.metrics import CONTENT_TYPE, Metrics
from corral.store import Store
from corral.task import Signature

T = TypeVar("T")
API = "/api/v1"
logger = logging.getLogger("corral.http")
STATS_MAX_AGE = 0.5  # seconds
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": m.Problem, "description": text} for code, text in (
        (401, "no token"), (403, "wrong or read-only token"),
        (404, "JobNotFound / BatchNotFound"),
        (409, "JobAlreadyFinished / JobActive / JobNotScheduled"),
        (413, "body too large"), (422, "invalid input: UnknownTask, bad arguments, ..."),
        (503, "the store is unreachable"))}


def create_app(corral: Corral, *, admin_token: str | None = None,
               read_token: str | None = None, tokens: Tokens | None = None,
               actor: ActorFunction | None = None,
               dependencies: Sequence[params.Depends] | None = None) -> FastAPI:
    """The ASGI app. With no token at all the API is open (``corral serve`` then binds
    loopback only); with tokens, every route but ``/healthz`` and the UI's shell needs
    one, ``/openapi.json`` and ``/docs`` included. ``tokens`` (named, from a tokens file:
    ``Tokens.of``) stands for ``admin_token`` / ``read_token`` when given.

    ``dependencies`` (a host app's own, ``corral.contrib.fastapi``) guard every route
    instead of the tokens, the dashboard's shell and ``/healthz`` included: the host's
    login decides who sees what.

    ``actor(request)`` names the caller of every write in the audit trail; the default,
    ``auth.http_actor``, follows DESIGN §8 (``http:<token name>``, ``X-Corral-Actor``)."""
    def store() -> Store:  # read when used: creating the app opens no database
        return corral.store

    metrics = Metrics(store)
    hub = LiveHub(store, observe=metrics.observe)
    reads: Batcher[str, Job] = Batcher(lambda texts: read_jobs(corral, texts))

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        hub.start()  # histograms count from here; the first watcher waits for nothing
        yield
        hub.stop()
        reads.close()

    # openapi_url=None: docs.mount serves the schema and /docs behind the token check
    api = FastAPI(title="corral", version="1", openapi_url=None, docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    install_problem_handlers(api)
    api.add_middleware(BodyLimit)
    api.add_middleware(head.HeadAsGet)
    api.add_middleware(hardening.SecurityHeaders)  # outermost: on 413s and 401s too
    if tokens is None:
        tokens = Tokens.of(admin=admin_token, read=read_token)
    host_guarded = dependencies is not None
    guards = [Depends(guard(tokens))] if dependencies is None else list(dependencies)
    by = Depends(actor_dependency(actor or http_actor))  # every writing route takes it
    # after the guard: unknown query parameters are refused, never ignored
    router = FlatRouter(api, API, responses=ERROR_RESPONSES,
                        dependencies=[*guards, Depends(querystring.refuse_unknown)])
    _job_routes(router, corral, by, reads)
    live_routes(router, corral, hub)
    _batch_and_queue_routes(router, corral, by)

    @router.get("/metrics", response_class=PlainTextResponse, tags=["overview"],
                responses={200: {"content": {CONTENT_TYPE: {}}}})
    def prometheus() -> Response:
        """Prometheus text format: jobs by queue and status, queue depth, workers by state,
        run times and cancel latency."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    # what corral's tokens leave open (a probe, a shell holding no data) the host guards
    shell_guards = guards if host_guarded else []

    @api.get(f"{API}/healthz", response_model=m.Health, tags=["health"],
             dependencies=[*shell_guards, Depends(querystring.refuse_unknown)])
    def healthz() -> m.Health:
        corral.store.list_workers()  # StoreError -> 503
        return m.Health(status="ok", store=corral.store.url.split(":", 1)[0])

    docs.mount(api, guards)
    web.mount(api, shell_guards, token_dialog=not host_guarded)
    api.state.corral = corral
    api.state.hub = hub
    api.state.tokens = tokens  # the server cuts them out of its log (serverlog)
    return api


def prepared(model: BaseModel) -> Response:
    """The model as JSON, built once: returning a Response skips FastAPI's second pass
    (validate, then serialize, the response model), a quarter of the cost of a job read.
    The route's ``response_model`` still documents it (and schemathesis checks it)."""
    return Response(model.model_dump_json(), media_type="application/json")


# A listing's page: fetch limit + 1 rows; the extra one says there is an older page.
PageLimit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(description="next_cursor of the last page")]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


def next_cursor(rows: Sequence[_HasId], limit: int) -> str | None:
    """The cursor of the page after ``rows[:limit]`` (rows fetched with ``limit + 1``)."""
    return rows[limit - 1].id if len(rows) > limit else None


def read_jobs(corral: Corral, texts: list[str]) -> list[Job | Exception]:
    """The jobs people named (any form ``Corral.resolve_id`` takes), in one query for them
    all: a batch of ``GET /jobs/{id}`` (batcher). A name that fails (unknown, ambiguous)
    fails alone."""
    resolved = [_attempt(corral.resolve_id, text) for text in texts]
    wanted = {one for one in resolved if isinstance(one, str)}
    if len(wanted) == 1:  # by its key: on SQLite 6x cheaper than a listing of one
        return [_attempt(corral.get_job, one) if isinstance(one, str) else one
                for one in resolved]
    found = {job.id: job for job in corral.list_jobs(ids=wanted, limit=None)} if wanted else {}
    return [one if isinstance(one, Exception) else found.get(one) or errors.JobNotFound(one)
            for one in resolved]


def _attempt(call: Callable[[str], T], text: str) -> T | errors.CorralError:
    try:
        return call(text)
    except errors.CorralError as exc:
        return exc


def signature(corral: Corral, body: m.EnqueueRequest) -> Signature:
    task = corral.get_task(body.task)
    return task.s(*body.args, **body.kwargs).set(
        queue=body.queue, priority=body.priority, run_at=body.run_at, delay=body.delay,
        meta=body.meta, unique_key=body.unique_key, limit_key=body.limit_key,
        key_limit=body.key_limit)


def _filters(body: m.Filter) -> dict[str, Any]:
    return {"status": body.status, "queue": body.queue, "task": body.task,
            "batch_id": body.batch_id, "limit_key": body.limit_key,
            "older_than": body.older_than, "newer_than": body.newer_than, "meta": body.meta}


def _statuses(given: list[str] | None) -> list[str] | None:
    """``?status=a&status=b,c`` -> ``[a, b, c]`` (repeated, comma-separated, or both)."""
    if not given:
        return None
    return [name.strip() for value in given for name in value.split(",") if name.strip()]


Duration = Annotated[str | None, Query(description="a duration: 30, 10m, 2h, 7d")]
MetaLabels = Annotated[dict[str, Any] | None, Depends(querystring.meta_labels)]


def _job_routes(router: FlatRouter, corral: Corral, by: Any, reads: Batcher[str, Job]
                ) -> None:
    """Every route that writes takes ``actor: str = by``: who the trail names."""

    @router.post("/jobs", status_code=201, response_model=m.JobOut, tags=["jobs"])
    def enqueue(body: m.EnqueueRequest, actor: str = by) -> m.JobOut:
        return m.JobOut.of(corral.enqueue(signature(corral, body), actor=actor).job)

    @router.get("/jobs", response_model=m.JobPage, tags=["jobs"])
    def list_jobs(
        status: Annotated[list[str] | None, Query(
            description="one status, repeated or comma-separated: running,cancelling")] = None,
        queue: str | None = None, task: str | None = None, batch_id: str | None = None,
        limit_key: str | None = None, older_than: Duration = None, newer_than: Duration = None,
        meta: MetaLabels = None,
        limit: PageLimit = 50, cursor: Cursor = None,
    ) -> Response:
        """Jobs newest first. Meta labels filter too: ``?meta.crawl_job_id=5`` (a value
        that parses as JSON is that value: ``5`` the number, ``"5"`` the string)."""
        jobs = corral.list_jobs(status=_statuses(status), queue=queue, task=task,
                                batch_id=batch_id, limit_key=limit_key, older_than=older_than,
                                newer_than=newer_than, meta=meta, before_id=cursor,
                                limit=limit + 1)
        return prepared(m.JobPage(jobs=[m.JobOut.of(job) for job in jobs[:limit]],
                                  next_cursor=next_cursor(jobs, limit)))

    @router.get("/jobs/{job_id}", response_model=m.JobOut, tags=["jobs"])
    async def get_job(job_id: str) -> Response:
        """One job, by its full id (no extra query), its short id (the last 12 hex
        digits) or a unique prefix or suffix of 6+ digits: 409 ``AmbiguousId`` with the
        ``candidates`` when it names several, 422 ``InvalidJobId`` when it names none."""
        return prepared(m.JobOut.of(await reads.load(job_id)))

    @router.get("/jobs/{job_id}/events", response_model=list[m.EventOut], tags=["jobs"])
    def job_events(job_id: str) -> list[m.EventOut]:
        return [m.EventOut.of(event) for event in corral.job_events(corral.resolve_id(job_id))]

    @router.post("/jobs/cancel", response_model=m.BulkOut, tags=["bulk"])
    def cancel_many(body: m.BulkCancelRequest, actor: str = by) -> m.BulkOut:
        return m.BulkOut.of(corral.cancel_many(body.ids, reason=body.reason, force=body.force,
                                               dry_run=body.dry_run, actor=actor,
                                               **_filters(body)))

    @router.post("/jobs/restart", response_model=m.BulkOut, tags=["bulk"])
    def restart_many(body: m.BulkRestartRequest, actor: str = by) -> m.BulkOut:
        return m.BulkOut.of(corral.restart_many(body.ids, reason=body.reason,
                                                dry_run=body.dry_run, actor=actor,
                                                **_filters(body)))

    @router.post("/jobs/delete", response_model=m.BulkOut, tags=["bulk"])
    def delete_many(body: m.Filter, actor: str = by) -> m.BulkOut:
        """A deleted job's trail goes with it: the server's log says who deleted what."""
        result = corral.delete_many(body.ids, dry_run=body.dry_run, **_filters(body))
        if result.done:
            logger.info("%d job(s) deleted by %s: %s", len(result.done), actor,
                        " ".join(result.done))
        return m.BulkOut.of(result)

    @router.post("/jobs/reset-stuck", response_model=m.ResetOut, tags=["bulk"],
                 response_model_exclude_none=True)
    def reset_stuck(older_than: Annotated[str, Query(description="30m, 2h, seconds")],
                    reason: str | None = None, dry_run: bool = False,
                    actor: str = by) -> m.ResetOut:
        """Jobs running longer than ``older_than``: dead workers' fail, the others are
        cancelled. ``dry_run=true`` lists which would, and changes nothing."""
        if dry_run:
            would = corral.reset_stuck(older_than, reason=reason, dry_run=True)
            return m.ResetOut(reset_count=would.count, job_ids=would.job_ids, dry_run=True,
                              failed=would.failed, cancelled=would.cancelled)
        ids = corral.reset_stuck(older_than, reason=reason, actor=actor)
        return m.ResetOut(reset_count=len(ids), job_ids=ids)

    @router.post("/jobs/{job_id}/cancel", response_model=m.JobOut, tags=["jobs"])
    def cancel(job_id: str, body: m.CancelRequest | None = None, actor: str = by
               ) -> m.JobOut:
        body = body or m.CancelRequest()
        return m.JobOut.of(corral.cancel(corral.resolve_id(job_id), reason=body.reason,
                                         force=body.force, actor=actor))

    @router.post("/jobs/{job_id}/restart", response_model=m.JobOut, tags=["jobs"])
    def restart(job_id: str, body: m.RestartRequest | None = None, actor: str = by
                ) -> m.JobOut:
        return m.JobOut.of(corral.restart(corral.resolve_id(job_id),
                                          reason=(body or m.RestartRequest()).reason,
                                          actor=actor))

    @router.post("/jobs/{job_id}/run-now", response_model=m.JobOut, tags=["jobs"])
    def run_now(job_id: str, actor: str = by) -> m.JobOut:
        """A scheduled job (delay, cron, retry backoff) due at once: ``queued`` with
        ``run_at`` now, workers woken. 409 ``JobNotScheduled`` for any other state."""
        return m.JobOut.of(corral.run_now(corral.resolve_id(job_id), actor=actor))

    @router.delete("/jobs/{job_id}", status_code=204, tags=["jobs"])
    def delete(job_id: str, actor: str = by) -> Response:
        """A deleted job's trail goes with it: the server's log says who deleted it."""
        resolved = corral.resolve_id(job_id)
        corral.delete(resolved)
        logger.info("job %s deleted by %s", resolved, actor)
        return Response(status_code=204)


def _batch_and_queue_routes(router: FlatRouter, corral: Corral, by: Any) -> None:
    @router.post("/batches", status_code=201, response_model=m.BatchCreated, tags=["batches"])
    def create_batch(body: m.BatchRequest, actor: str = by) -> m.BatchCreated:
        on_complete = signature(corral, body.on_complete) if body.on_complete else None
        batch = corral.batch([signature(corral, job) for job in body.jobs], name=body.name,
                             on_complete=on_complete, actor=actor)
        return m.BatchCreated(batch=m.BatchOut.of(batch.refresh()),
                              job_ids=[job.id for job in batch.jobs])

    @router.get("/batches", response_model=m.BatchPage, tags=["batches"])
    def list_batches(limit: PageLimit = 50, cursor: Cursor = None) -> Response:
        """Batches newest first, with their counts per status and progress."""
        batches = corral.list_batches(limit=limit + 1, before_id=cursor)
        return prepared(m.BatchPage(batches=[m.BatchOut.of(batch) for batch in batches[:limit]],
                                    next_cursor=next_cursor(batches, limit)))

    @router.get("/batches/{batch_id}", response_model=m.BatchOut, tags=["batches"])
    def get_batch(batch_id: str) -> m.BatchOut:
        return m.BatchOut.of(corral.get_batch(batch_id))

    @router.post("/batches/{batch_id}/cancel", response_model=m.BatchCancelOut,
                 tags=["batches"])
    def cancel_batch(batch_id: str, body: m.CancelRequest | None = None, actor: str = by
                     ) -> m.BatchCancelOut:
        body = body or m.CancelRequest()
        return m.BatchCancelOut(**corral.cancel_batch(batch_id, reason=body.reason,
                                                      force=body.force, actor=actor))

    recent_stats = Recent(lambda: prepared(m.Stats(**corral.stats())).body,
                          max_age=STATS_MAX_AGE)

    @router.get("/stats", response_model=m.Stats, tags=["overview"])
    async def stats() -> Response:
        """Jobs per status and queue, stalled, workers alive/stopped/dead, jobs finished in
        the last minute (computed at most every 0.5 s, however many clients ask)."""
        return Response(await recent_stats.get(), media_type="application/json")

    @router.get("/workers", response_model=list[m.WorkerOut], tags=["overview"])
    def workers() -> list[m.WorkerOut]:
        return [m.WorkerOut.of(worker, jobs) for worker, jobs in corral.workers()]

    @router.get("/queues", response_model=list[m.QueueOut], tags=["queues"])
    def queues() -> list[m.QueueOut]:
        return [m.QueueOut.of(info) for info in corral.queues()]

    @router.patch("/queues/{name}", response_model=m.QueueOut, tags=["queues"])
    def patch_queue(name: str, body: m.QueuePatch, actor: str = by) -> m.QueueOut:
        """Queues have no trail: the server's log says who changed which rule."""
        if body.unlimited and body.concurrency is not None:
            raise errors.ConfigError("give concurrency or unlimited, not both")
        if body.concurrency is not None or body.unlimited:
            corral.set_queue_limit(name, body.concurrency)
            logger.info("queue %s limit set to %s by %s", name, body.concurrency or "none",
                        actor)
        if body.paused is not None:
            (corral.pause_queue if body.paused else corral.resume_queue)(name)
            logger.info("queue %s %s by %s", name, "paused" if body.paused else "resumed",
                        actor)
        found = [info for info in corral.queues() if info.name == name]
        return m.QueueOut.of(found[0]) if found else m.QueueOut(
            name=name, concurrency=None, paused=False, queued=0, scheduled=0, running=0)



