"""``@app.task`` turns a function into a ``Task``; ``task.s(...)`` makes a ``Signature``.

A Task is the registry entry: the function and its options. A Signature is one call of it,
with arguments and per-call options, ready to enqueue alone or in a group.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from corral import config, errors, ids
from corral.job import JSON, NewJob
from corral.store import codec

if TYPE_CHECKING:
    from corral.app import Corral
    from corral.handle import JobHandle

Isolation = Literal["thread", "process"]
ISOLATIONS: tuple[str, ...] = ("thread", "process")
OnStall = Literal["report", "cancel"]
ON_STALL: tuple[str, ...] = ("report", "cancel")
LimitKey = str | Callable[..., str]
"""A task's ``limit_key``: one key for every job, or a callable of the task's arguments
(without ``ctx``) giving each job its key: ``limit_key=lambda user_id, **_: user_id``."""


@dataclass(frozen=True)
class TaskOptions:
    """Options fixed at registration; ``queue`` and ``priority`` can be set per call."""

    queue: str = "default"
    priority: int = 0
    phases: tuple[str, ...] = ()
    timeout: float | None = None
    max_attempts: int = 1
    isolation: Isolation = "thread"
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    stall_after: float | None = None
    on_stall: OnStall = "report"
    key_limit: int | None = None
    """Default per-key limit for jobs given a ``limit_key`` (e.g. 3 running per user)."""
    limit_key: LimitKey | None = None
    """Every job's ``limit_key`` unless the call gives one (``.set(limit_key=)``, HTTP)."""
    cancel_grace: float | None = None
    """How long this task's jobs get to stop after a cancel before a process-isolated one
    is killed (a thread-run one flagged unresponsive); None: the worker's setting."""

    def __post_init__(self) -> None:
        if self.on_stall not in ON_STALL:
            raise errors.ConfigError(f"on_stall must be one of {ON_STALL}")
        if not self.queue or not isinstance(self.queue, str):
            raise errors.ConfigError("queue must be a non-empty string")
        _check_limit(self.max_attempts, "max_attempts")
        _check_int(self.priority, "priority")
        if self.isolation not in ISOLATIONS:
            raise errors.ConfigError(f"isolation must be one of {ISOLATIONS}")
        if len(set(self.phases)) != len(self.phases):
            raise errors.ConfigError("phases must be unique names")
        _check_limit(self.key_limit, "key_limit")
        key = self.limit_key
        if key is not None and not callable(key) and (not isinstance(key, str) or not key):
            raise errors.ConfigError("limit_key must be a non-empty string or a callable of "
                                     "the task's arguments")
        if isinstance(key, str):
            codec.check_text(key, "limit_key")


class Task:
    """A registered task. Call it directly to run the function in-process (no job)."""

    def __init__(self, app: Corral, fn: Callable[..., Any], name: str, options: TaskOptions):
        self.app = app
        self.fn = fn
        self.name = name
        self.options = options
        self.is_async = inspect.iscoroutinefunction(fn)
        self.takes_context = _takes_context(fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.options.queue!r}>"

    def s(self, *args: JSON, **kwargs: JSON) -> Signature:
        """One call of this task, to enqueue later (alone or with ``app.enqueue_many``)."""
        return Signature(self, args, kwargs)

    def enqueue(self, *args: JSON, **kwargs: JSON) -> JobHandle:
        """Enqueue one job with these arguments; per-call options via ``s(...).set(...)``."""
        return self.s(*args, **kwargs).enqueue()

    async def aenqueue(self, *args: JSON, **kwargs: JSON) -> JobHandle:
        """``enqueue`` without blocking the event loop (the store call runs in a thread)."""
        return await asyncio.to_thread(self.enqueue, *args, **kwargs)

    def limit_key_of(self, args: Sequence[JSON], kwargs: dict[str, JSON]) -> str | None:
        """The task's own ``limit_key`` for a job with these arguments: the callable called
        as the task would be (without ``ctx``). A callable that raises or gives no
        non-empty string is the caller's bad input (``InvalidArguments``): nothing is
        enqueued, rather than a job that silently escapes its limit."""
        key = self.options.limit_key
        if key is None or isinstance(key, str):
            return key
        try:
            value = key(*args, **kwargs)
        except Exception as exc:
            raise errors.InvalidArguments(
                f"limit_key of task {self.name!r} failed on these arguments: "
                f"{type(exc).__name__}: {exc}", task=self.name) from exc
        if not isinstance(value, str) or not value:
            raise errors.InvalidArguments(
                f"limit_key of task {self.name!r} must give a non-empty string, "
                f"got {value!r}", task=self.name)
        return codec.check_text(value, "limit_key")


@dataclass(frozen=True)
class Signature:
    """A task, its JSON arguments and per-call options (``queue``, ``priority``, ``delay``,
    ``run_at``, ``meta``, ``unique_key``, ``limit_key``, ``key_limit``)."""

    task: Task
    args: tuple[JSON, ...] = ()
    kwargs: dict[str, JSON] = field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    run_at: datetime | None = None
    meta: dict[str, JSON] = field(default_factory=dict)
    unique_key: str | None = None
    limit_key: str | None = None
    key_limit: int | None = None

    def set(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        run_at: datetime | None = None,
        delay: str | float | None = None,
        meta: dict[str, JSON] | None = None,
        unique_key: str | None = None,
        limit_key: str | None = None,
        key_limit: int | None = None,
    ) -> Signature:
        """A copy with per-call options; ``delay`` is a duration (``30``, ``"5m"``).

        ``unique_key``: while an active job holds this key, enqueueing returns that job
        instead of a new one. ``limit_key`` + ``key_limit``: at most ``key_limit`` jobs with
        the same ``limit_key`` run at once, across every worker; the rest wait."""
        _check_limit(key_limit, "key_limit")
        for name, key in (("unique_key", unique_key), ("limit_key", limit_key)):
            if key is not None and (not isinstance(key, str) or not key):
                raise errors.ConfigError(f"{name} must be a non-empty string")
            codec.check_text(key, name)
        if run_at is not None and delay is not None:
            raise errors.ConfigError("give run_at or delay, not both")
        if delay is not None:
            run_at = datetime.now(UTC) + timedelta(seconds=config.parse_duration(delay,
                                                                                 name="delay"))
        if run_at is not None and run_at.tzinfo is None:
            raise errors.ConfigError("run_at must be timezone-aware")
        run_at = codec.check_run_at(run_at)  # years 1-9999 in UTC, or InvalidArguments
        if priority is not None:
            _check_int(priority, "priority")
        changes: dict[str, Any] = {"queue": queue, "priority": priority, "run_at": run_at,
                                   "meta": meta, "unique_key": unique_key,
                                   "limit_key": limit_key, "key_limit": key_limit}
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def enqueue(self) -> JobHandle:
        return self.task.app.enqueue(self)

    async def aenqueue(self) -> JobHandle:
        """``enqueue`` without blocking the event loop (the store call runs in a thread)."""
        return await asyncio.to_thread(self.enqueue)

    def to_new_job(self, *, batch_id: str | None = None) -> NewJob:
        """Validate (JSON only) and build the row the store inserts."""
        args, kwargs, meta = list(self.args), dict(self.kwargs), dict(self.meta)
        args_json = _json_text(args, "args")
        kwargs_json = _json_text(kwargs, "kwargs")
        meta_json = _json_text(meta, "meta")
        options = self.task.options
        queue = self.queue or options.queue
        if not isinstance(queue, str) or not queue:
            raise errors.ConfigError("queue must be a non-empty string")
        codec.check_text(queue, "queue")
        limit_key = (self.limit_key if self.limit_key is not None
                     else self.task.limit_key_of(args, kwargs))
        return NewJob(
            id=ids.uuid7(), task=self.task.name, args=args, kwargs=kwargs, queue=queue,
            priority=options.priority if self.priority is None else int(self.priority),
            max_attempts=options.max_attempts, run_at=self.run_at, timeout=options.timeout,
            batch_id=batch_id, meta=meta, args_json=args_json, kwargs_json=kwargs_json,
            meta_json=meta_json, unique_key=self.unique_key, limit_key=limit_key,
            key_limit=(self.key_limit or options.key_limit) if limit_key else None,
        )


def _check_limit(value: int | None, name: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or not 1 <= value <= INT32):
        raise errors.ConfigError(f"{name} must be an integer >= 1 (and <= {INT32})")


INT32 = 2**31 - 1  # what a PostgreSQL integer column holds


def _check_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not -INT32 <= value <= INT32:
        raise errors.ConfigError(f"{name} must be an integer within +-{INT32}")


def _json_text(value: Any, what: str) -> str:
    """``value`` encoded once, here, by the store's own rules (``codec.encode_json``:
    JSON only, at most ``MAX_JSON_DEPTH`` levels, no NaN, NUL or lone surrogate); the
    store writes this text as it is (enqueue is a hot path)."""
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return codec.encode_json(value, what)


def _takes_context(fn: Callable[..., Any]) -> bool:
    """A task receives a Context when its first parameter is named ``ctx`` or annotated
    ``Context``: tasks that never look at their job stay plain functions."""
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        return False
    first = params[0]
    annotation = first.annotation
    annotated = annotation is not inspect.Parameter.empty and (
        getattr(annotation, "__name__", None) == "Context"
        or (isinstance(annotation, str) and annotation.rsplit(".", 1)[-1] == "Context")
    )
    return first.name == "ctx" or annotated
