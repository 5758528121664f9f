"""Bulk operations (cancel, retry, delete) over ids or a filter (DESIGN §6).

The store matches a filter in SQL inside the operation's own transaction, then runs its
set-based, guarded statement on those jobs: a job that moved meanwhile is reported, not
forced. ``dry_run`` only reads what the filter matches (the count and ids).

Meta labels match top-level keys of a job's ``meta`` by equality. Typed by a person
(``--meta crawl_job_id=5``, ``?meta.client=Datadog``), a value that parses as JSON is that
JSON value (``5`` the number, ``"5"`` the string, ``true``), anything else is text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from corral import config, errors, ids
from corral.job import JSON
from corral.status import JobStatus
from corral.store import codec
from corral.store.base import JobFilter

META_PREFIX = "meta."  # HTTP query parameters naming a label: ?meta.client=Datadog


@dataclass(frozen=True)
class BulkResult:
    """What a bulk operation matched, did, and refused (id -> the status that refused it)."""

    action: str
    dry_run: bool
    matched: list[str]
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    became: dict[str, str] = field(default_factory=dict)
    """id -> the status the operation moved each done job to (what its UPDATE wrote; the
    job may have moved on since, e.g. a cancelling job its worker stopped at once)."""

    @property
    def count(self) -> int:
        return len(self.matched if self.dry_run else self.done)


@dataclass(frozen=True)
class StuckReset:
    """What ``reset_stuck`` would do (its dry run): the jobs it would fail with
    ``WorkerLost`` (their worker is dead) and those it would cancel."""

    failed: list[str]
    cancelled: list[str]
    dry_run: bool = True

    @property
    def job_ids(self) -> list[str]:
        return [*self.failed, *self.cancelled]

    @property
    def count(self) -> int:
        return len(self.failed) + len(self.cancelled)


def job_filter(
    *,
    ids: Iterable[str] | None = None,
    status: JobStatus | str | Iterable[JobStatus | str] | None = None,
    queue: str | None = None,
    task: str | None = None,
    batch_id: str | None = None,
    limit_key: str | None = None,
    older_than: str | float | timedelta | None = None,
    newer_than: str | float | timedelta | None = None,
    meta: Mapping[str, JSON] | None = None,
    before_id: str | None = None,
    id_prefix: str | None = None,
) -> JobFilter:
    """A ``JobFilter`` from user-facing arguments. ``older_than`` / ``newer_than`` are
    durations (``"1h"``) measured from the job's creation; ``meta`` labels match top-level
    keys of the job's meta by equality (scalars; numbers by value)."""
    for name, text in (("queue", queue), ("task", task), ("batch_id", batch_id),
                       ("limit_key", limit_key), ("cursor", before_id)):
        codec.check_text(text, name)
    if ids is not None:
        ids = [codec.check_text(job_id, "job id") or "" for job_id in ids]
    if isinstance(status, str):
        status = [status]
    try:
        statuses = tuple(JobStatus(s) for s in status) if status is not None else None
    except ValueError as exc:
        raise errors.ConfigError(f"unknown status: {exc}") from exc
    labels = _labels(meta)
    return JobFilter(statuses=statuses, queue=queue, task=task, batch_id=batch_id,
                     ids=tuple(ids) if ids is not None else None, limit_key=limit_key,
                     created_before=_ago(older_than, "older_than"),
                     created_after=_ago(newer_than, "newer_than"),
                     before_id=before_id, meta=labels,
                     id_prefix=_id_prefix(id_prefix))


def _id_prefix(text: str | None) -> str | None:
    """A prefix of an id (hex digits, hyphens optional, any case), checked before the
    store ranges over it."""
    if text is not None:
        try:
            ids.prefix_bounds(text)
        except ValueError:
            raise errors.InvalidJobId(text, "not the start of a job id") from None
    return text


def _ago(duration: str | float | timedelta | None, name: str) -> datetime | None:
    if duration is None:
        return None
    return datetime.now(UTC) - timedelta(seconds=config.duration_seconds(duration, name=name))


def _labels(meta: Mapping[str, JSON] | None) -> dict[str, JSON] | None:
    """``meta`` checked (string keys, text a store can hold, scalar values); None when no
    label is given, so an empty mapping filters nothing."""
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise errors.InvalidArguments(f"meta labels must be a mapping, not {meta!r}")
    labels = dict(meta)
    for key, value in labels.items():
        if not isinstance(key, str):
            raise errors.InvalidArguments(f"meta label keys are strings, not {key!r}")
        codec.check_text(key, "meta label")
        if isinstance(value, str):
            codec.check_text(value, f"meta label {key!r}")
    JobFilter(meta=labels).meta_json()  # scalars only, plain JSON: refused here, typed
    return labels or None


def meta_value(text: str) -> JSON:
    """A label's value as a person typed it: JSON if it parses (``5``, ``"5"``, ``true``,
    ``null``), else the text itself (``Datadog``). ``NaN`` and ``Infinity`` are text."""
    def refuse(constant: str) -> JSON:
        raise ValueError(constant)

    try:
        value: JSON = json.loads(text, parse_constant=refuse)
    except ValueError:
        return text
    return value


def meta_option(given: str) -> tuple[str, JSON]:
    """``key=value`` (a CLI ``--meta``) -> ``(key, value)``; no ``=`` or an empty key is a
    usage error (``ConfigError``)."""
    key, sep, text = given.partition("=")
    if not sep or not key.strip():
        raise errors.ConfigError(
            f"--meta takes KEY=VALUE (e.g. crawl_job_id=5), not {given!r}")
    return key, meta_value(text)


def meta_labels(pairs: Iterable[tuple[str, JSON]], *, source: str = "--meta"
                ) -> dict[str, JSON] | None:
    """Labels from ``(key, value)`` pairs; a key given twice is a usage error."""
    labels: dict[str, JSON] = {}
    for key, value in pairs:
        if not key:
            raise errors.ConfigError(f"{source}: a meta label needs a key")
        if key in labels:
            raise errors.ConfigError(f"{source}: meta label {key!r} given twice")
        labels[key] = value
    return labels or None


def is_everything(where: JobFilter) -> bool:
    """True for a filter that names nothing: bulk changes refuse it (say what you mean)."""
    return where == JobFilter()
