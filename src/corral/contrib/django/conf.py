"""The ``Corral`` of a Django project: built once from ``settings.CORRAL``.

``CORRAL`` keys: ``DATABASE_URL`` (default: Django's ``default`` database when it is
PostgreSQL, in schema ``corral``; else ``corral.db`` beside Django's SQLite file),
``ENQUEUE_ON_COMMIT`` (default true), ``DATABASE`` (the Django database whose
transactions ``ENQUEUE_ON_COMMIT`` follows; default ``default``), and any ``Corral``
setting in upper case (``HEARTBEAT_INTERVAL``, ``CANCEL_GRACE``, ``ADMIN_TOKEN``...).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, transaction

from corral import config
from corral.app import Corral
from corral.batch import NewBatch
from corral.contrib.django import runner
from corral.job import Job, NewJob
from corral.status import JobStatus

OWN_KEYS = ("DATABASE_URL", "ENQUEUE_ON_COMMIT", "DATABASE")
SETTING_KEYS = tuple(field.name.upper() for field in dataclasses.fields(config.Settings))
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")
SQLITE_ENGINES = ("django.db.backends.sqlite3", "django.contrib.gis.db.backends.spatialite")

_built: Corral | None = None
_lock = threading.Lock()


def django_app() -> DjangoCorral:
    """The project's one ``Corral`` (built on first call)."""
    global _built
    with _lock:
        if _built is None:
            _built = build()
        assert isinstance(_built, DjangoCorral)
        return _built


def build() -> DjangoCorral:
    options = dict(getattr(settings, "CORRAL", None) or {})
    unknown = sorted(set(options) - set(OWN_KEYS) - set(SETTING_KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"CORRAL: unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(OWN_KEYS + tuple(key for key in SETTING_KEYS if key != 'DATABASE_URL'))}")
    url = options.pop("DATABASE_URL", None) or default_database_url(
        settings.DATABASES.get("default") or {})
    on_commit = options.pop("ENQUEUE_ON_COMMIT", True)
    alias = options.pop("DATABASE", "default")
    if alias not in settings.DATABASES:
        raise ImproperlyConfigured(f"CORRAL['DATABASE']: no Django database {alias!r}")
    app = DjangoCorral(url, enqueue_on_commit=bool(on_commit), django_database=alias,
                       **{key.lower(): value for key, value in options.items()})
    app.task(name=runner.RUN_TASK)(runner.run_django_task)  # CorralBackend's jobs
    return app


def default_database_url(database: Mapping[str, Any]) -> str:
    """The store beside Django's ``database`` (its ``DATABASES`` entry): PostgreSQL in
    schema ``corral``, or a SQLite file ``corral.db`` beside Django's."""
    engine = database.get("ENGINE", "")
    if engine in POSTGRES_ENGINES:
        return postgres_url(database)
    name = str(database.get("NAME") or "")
    if engine in SQLITE_ENGINES and name and name != ":memory:" and "mode=memory" not in name:
        return f"sqlite:///{Path(name).resolve().parent / 'corral.db'}"
    raise ImproperlyConfigured(
        "CORRAL['DATABASE_URL'] is needed: Django's default database is neither "
        "PostgreSQL nor a SQLite file")


def postgres_url(database: Mapping[str, Any]) -> str:
    user = quote(str(database.get("USER") or ""), safe="")
    password = quote(str(database.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(database.get("HOST") or "")
    port = str(database.get("PORT") or "")
    query = {"schema": "corral"}
    if host.startswith("/"):  # a Unix socket's folder: libpq takes it as a parameter
        query["host"], host = host, ""
    address = f"{host}:{port}" if host and port else host
    return (f"postgresql://{credentials}{address}/{quote(str(database.get('NAME') or ''))}"
            f"?{urlencode(query)}")


class DjangoCorral(Corral):
    """A ``Corral`` that follows Django's transactions and connection rules."""

    # a job's child process sets Django up before it imports the job's tasks.py
    child_setup = ("corral.contrib.django.child_setup",)

    def __init__(self, database_url: str, *, enqueue_on_commit: bool = True,
                 django_database: str = "default", **settings_: Any) -> None:
        super().__init__(database_url, **settings_)
        self.enqueue_on_commit = enqueue_on_commit
        self.django_database = django_database

    def write_jobs(self, new_jobs: Iterable[NewJob], *, actor: str,
                   batch: NewBatch | None = None) -> list[Job]:
        """Inside ``transaction.atomic()``: written when it commits, dropped on rollback,
        so a worker never sees a job whose rows (a ``CrawlJob`` it reads) are not there
        yet. The jobs returned meanwhile are as they will be written (each made now, so
        a bad argument fails the call, not the commit)."""
        connection = transaction.get_connection(self.django_database)
        if not (self.enqueue_on_commit and connection.in_atomic_block):
            return super().write_jobs(new_jobs, actor=actor, batch=batch)
        made = list(new_jobs)
        write = super().write_jobs
        transaction.on_commit(lambda: write(made, actor=actor, batch=batch),
                              using=self.django_database)
        return [pending_job(new_job) for new_job in made]

    def prepare_function(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """A sync task runs between ``close_old_connections()`` calls, like a request:
        the ORM connection a job opened is closed after it (or kept for
        ``CONN_MAX_AGE``), and one broken by a database restart is not reused."""
        if inspect.iscoroutinefunction(function):
            return function

        @functools.wraps(function)
        def with_fresh_connections(*args: Any, **kwargs: Any) -> Any:
            close_old_connections()
            try:
                return function(*args, **kwargs)
            finally:
                close_old_connections()

        return with_fresh_connections


def pending_job(new_job: NewJob) -> Job:
    """The job an on-commit enqueue will write: its id, task and arguments are final."""
    later = new_job.run_at is not None and new_job.run_at > datetime.now(UTC)
    return Job(id=new_job.id, task=new_job.task, args=new_job.args, kwargs=new_job.kwargs,
               queue=new_job.queue, priority=new_job.priority,
               status=JobStatus.SCHEDULED if later else JobStatus.QUEUED,
               max_attempts=new_job.max_attempts, run_at=new_job.run_at,
               timeout=new_job.timeout, batch_id=new_job.batch_id,
               limit_key=new_job.limit_key, key_limit=new_job.key_limit,
               unique_key=new_job.unique_key, meta=new_job.meta)
