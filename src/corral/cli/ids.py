"""Short job ids: any unique prefix of 6+ characters names a job (DESIGN §1).

Ids are UUIDv7, so their first digits are a timestamp: jobs created together share a long
prefix, and a prefix that matches several jobs is refused with the candidates listed.
"""

from __future__ import annotations

from collections.abc import Iterable

from corral import errors, ids
from corral.app import Corral
from corral.job import Job
from corral.store.base import JobFilter

MIN_PREFIX = 6
SHOWN_CANDIDATES = 5


class AmbiguousId(errors.CorralError):
    """A prefix matches more than one job."""

    def __init__(self, prefix: str, candidates: list[Job], more: bool) -> None:
        listed = ", ".join(f"{job.id} ({job.task}, {job.status})" for job in candidates)
        super().__init__(
            f"{prefix!r} matches {'more than ' if more else ''}{len(candidates)} jobs: "
            f"{listed}{', ...' if more else ''}; give more characters",
            prefix=prefix, candidates=[job.id for job in candidates])


def resolve(app: Corral, prefix: str) -> str:
    """The id of the one job whose id starts with ``prefix``. Raises ``ConfigError`` (too
    short), ``JobNotFound`` or ``AmbiguousId``."""
    prefix = prefix.strip()
    if len(prefix) < MIN_PREFIX:
        raise errors.ConfigError(
            f"job id {prefix!r} is too short: give at least {MIN_PREFIX} characters")
    try:
        ids.prefix_bounds(prefix)
    except ValueError:
        raise errors.JobNotFound(prefix) from None
    found = app.store.list_jobs(JobFilter(id_prefix=prefix), limit=SHOWN_CANDIDATES + 1)
    if not found:
        raise errors.JobNotFound(prefix)
    if len(found) > 1:
        raise AmbiguousId(prefix, found[:SHOWN_CANDIDATES], more=len(found) > SHOWN_CANDIDATES)
    return found[0].id


def resolve_all(app: Corral, prefixes: Iterable[str]) -> list[str]:
    """Every prefix resolved, before anything is done: one bad id stops the command."""
    resolved = [resolve(app, prefix) for prefix in prefixes]
    return list(dict.fromkeys(resolved))  # the same job named twice is acted on once
