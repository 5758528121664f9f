"""corral's HTTP API and dashboard inside a host FastAPI app (DESIGN §12).

::

    api = FastAPI()
    corral.contrib.fastapi.mount(api, app, prefix="/ops/jobs",
                                 dependencies=[Depends(require_staff)],
                                 actor=lambda request: request.state.user.email,
                                 worker={"queues": ["default"], "concurrency": 4})

Why not ``api.mount(prefix, corral.http.create_app(app))``: Starlette never runs a mounted
app's lifespan, so the live hub behind SSE and long-poll would never start, and the API
would be guarded by corral's tokens, not the host's login. ``mount`` builds the same app
(``embedded``), mounts it, and folds its lifespan into the host's: the host starts first
and stops last, corral's live feed and worker run in between.

corral keeps its own error bodies (``{"error", "message"}``) on its routes; the host's
handlers for its own exception types (a login that raises ``NotAuthenticated``) apply to
corral's routes too, and so do the host's ``dependency_overrides`` (its tests' fake
users).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, params

from corral import errors
from corral.app import Corral
from corral.http import create_app
from corral.http.auth import ActorFunction, Tokens
from corral.worker.worker import Worker

logger = logging.getLogger("corral.contrib.fastapi")
Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]
WorkerOptions = Mapping[str, Any]
"""``Worker``'s keywords (``queues``, ``concurrency``, ``worker_id``) and ``grace``: the
seconds running jobs get to finish when the host stops (default ``shutdown_grace``)."""


def mount(api: FastAPI, app: Corral, *, prefix: str = "/corral",
          dependencies: Sequence[params.Depends] | None = None,
          actor: ActorFunction | None = None,
          worker: WorkerOptions | None = None) -> FastAPI:
    """Serve corral's API (``<prefix>/api/v1/...``) and dashboard (``<prefix>/``) from
    ``api``, and return the mounted app.

    ``dependencies``: the host's own (``[Depends(require_staff)]``) guard every corral
    route instead of corral's tokens; ``[]`` leaves corral open to whoever reaches the
    host. Without them corral's tokens (``CORRAL_ADMIN_TOKEN``, ...) guard it, as in
    ``corral serve``, and there must be one. ``actor(request)`` names the caller of every
    write in the audit trail. ``worker``: ``{"queues": [...], "concurrency": 4}`` runs a
    worker on threads of the host's process, started and stopped with it.

    Call it before the host starts serving (its lifespan is wrapped here)."""
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise errors.ConfigError(f"prefix {prefix!r}: it must start with / and not end with "
                                 "one (\"/ops/jobs\")")
    embedded_app = embedded(app, dependencies=dependencies, actor=actor, worker=worker)
    api.mount(prefix, embedded_app, name="corral")
    embedded_app.dependency_overrides = api.dependency_overrides  # the same dict, shared
    host_lifespan: Lifespan = api.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(host: FastAPI) -> AsyncIterator[Any]:
        async with host_lifespan(host) as state:
            inherit_handlers(embedded_app, host)  # those the host added after mount()
            async with embedded_app.router.lifespan_context(embedded_app):
                yield state

    api.router.lifespan_context = lifespan
    inherit_handlers(embedded_app, api)
    return embedded_app


def embedded(app: Corral, *, dependencies: Sequence[params.Depends] | None = None,
             actor: ActorFunction | None = None,
             worker: WorkerOptions | None = None) -> FastAPI:
    """The app ``mount`` mounts, for hosts that mount it themselves (a plain Starlette
    app: README "Inside your app"). Its lifespan (``.router.lifespan_context``) runs the
    live feed and the worker: the host must enter it in its own."""
    tokens = None
    if dependencies is None:
        settings = app.settings
        tokens = Tokens.of(admin=settings.admin_token, read=settings.read_token,
                           file=settings.tokens_file)
        if not tokens.required:
            raise errors.ConfigError(
                "corral mounted with neither the host's dependencies nor a token: pass "
                "dependencies=[Depends(...)] (the host's login) or set CORRAL_ADMIN_TOKEN; "
                "dependencies=[] leaves corral open to whoever reaches the app",
                setting="admin_token")
    embedded_app = create_app(app, tokens=tokens, actor=actor, dependencies=dependencies)
    if worker is not None:
        corral_lifespan: Lifespan = embedded_app.router.lifespan_context
        options = dict(worker)
        grace = options.pop("grace", app.settings.shutdown_grace)
        in_process = Worker(app, **options)
        embedded_app.state.worker = in_process

        @contextlib.asynccontextmanager
        async def with_worker(this: FastAPI) -> AsyncIterator[None]:
            async with corral_lifespan(this):
                await asyncio.to_thread(in_process.start)
                try:
                    yield
                finally:  # running jobs get `grace` seconds, then go back to the queue
                    await asyncio.to_thread(in_process.stop, grace=grace)

        embedded_app.router.lifespan_context = with_worker
    return embedded_app


def inherit_handlers(embedded_app: FastAPI, host: FastAPI) -> None:
    """The host's handlers for exception types corral has none for: a host login that
    raises its own exception is answered the host's way on corral's routes too.
    Status-code handlers stay the host's own: corral's 404s keep corral's body."""
    for key, handler in host.exception_handlers.items():
        if isinstance(key, type):
            embedded_app.exception_handlers.setdefault(key, handler)
