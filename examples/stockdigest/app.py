"""The StockDigest service: its own login and routes, with corral mounted inside.

What corral adds here is the ``mount`` call and a few lines per route; the rest is the
service as it was. Users are API keys (a stand-in for the service's real login): a key
comes as ``Authorization: Bearer <key>`` (scripts) or the ``session`` cookie (a browser).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

import corral
from corral.contrib.fastapi import mount
from examples.stockdigest.jobs import build_digest, jobs


@dataclass(frozen=True)
class User:
    email: str
    admin: bool


USERS = {  # key -> user; a real service reads its own user table
    "alice-key": User("alice@stockdigest.example", admin=True),
    "bob-key": User("bob@stockdigest.example", admin=False),
}


def current_user(request: Request) -> User:
    header = request.headers.get("authorization", "")
    key = header[7:] if header.lower().startswith("bearer ") else request.cookies.get("session")
    user = USERS.get(key or "")
    if user is None:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
    request.state.user = user
    return user


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.admin:
        raise HTTPException(403, "admins only")
    return user


@contextlib.asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    """The service's own startup (corral's live feed and worker start after it)."""
    api.state.started = True
    yield
    api.state.started = False


api = FastAPI(title="StockDigest", lifespan=lifespan)

# corral's dashboard and API at /ops/jobs, for admins only, naming them in the audit
# trail, with a worker for the digests queue in this process
mount(api, jobs, prefix="/ops/jobs", dependencies=[Depends(require_admin)],
      actor=lambda request: request.state.user.email,
      worker=({"queues": ["digests"], "concurrency": 4}
              if os.environ.get("STOCKDIGEST_WORKER", "1") == "1" else None))


class DigestRequest(BaseModel):
    tickers: list[Annotated[str, Field(pattern=r"^[A-Z.]{1,10}$")]] = Field(
        min_length=1, max_length=100)
    days: int = Field(5, ge=1, le=365)
    step: float = Field(0.0, ge=0, le=5)  # seconds per day read: lets a demo be watched


@api.get("/health")
def health(request: Request) -> dict[str, bool]:
    return {"ok": request.app.state.started}


@api.post("/digests", status_code=201)
def request_digests(body: DigestRequest, user: Annotated[User, Depends(current_user)]
                    ) -> dict[str, object]:
    """One digest job per ticker, in one batch: the batch is what a user cancels."""
    batch = jobs.batch([build_digest.s(ticker, days=body.days, step=body.step)
                        for ticker in body.tickers], name=f"digests for {user.email}",
                       actor=user.email)
    return {"batch_id": batch.id, "job_ids": [job.id for job in batch.jobs]}


@api.get("/digests/{job_id}")
async def digest(job_id: str, user: Annotated[User, Depends(current_user)],
                 wait: float = 0) -> dict[str, object]:
    """A digest job's status and result; ``?wait=<seconds>`` waits for it to finish
    without holding a thread."""
    try:
        handle = corral.JobHandle(jobs, await jobs.aget_job(job_id))
        job = await handle.wait_async(timeout=wait) if wait > 0 else handle.job
    except corral.JobNotFound:
        raise HTTPException(404, "no such digest") from None
    except corral.JobWaitTimeout:
        job = await handle.arefresh()
    return {"id": job.id, "status": job.status, "result": job.result}


@api.post("/jobs/batch/{batch_id}/cancel")
def cancel_digests(batch_id: str, user: Annotated[User, Depends(require_admin)]
                   ) -> dict[str, object]:
    """Stop a whole request: queued digests never start, running ones stop at their next
    day; the trail names the admin who asked."""
    try:
        return jobs.cancel_batch(batch_id, reason="cancelled from StockDigest",
                                 actor=user.email)
    except corral.BatchNotFound:
        raise HTTPException(404, "no such batch") from None
