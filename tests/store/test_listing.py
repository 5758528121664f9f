"""The Store contract for listing jobs: filters and bad input, on every backend."""

from __future__ import annotations

import pytest

from corral import errors
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter
from tests.factories import make_job

S = JobStatus


def test_list_jobs_filters(store: Store) -> None:
    queued = make_job(store, S.QUEUED, queue="a")
    done = make_job(store, S.COMPLETED, queue="b")
    assert [j.id for j in store.list_jobs(JobFilter(statuses=(S.COMPLETED,)))] == [done.id]
    assert [j.id for j in store.list_jobs(JobFilter(queue="a"))] == [queued.id]
    assert [j.id for j in store.list_jobs(JobFilter())] == [done.id, queued.id]
    assert store.list_jobs(JobFilter(task="other")) == []


def test_text_with_a_nul_character_is_stored_or_refused_as_bad_input(store: Store) -> None:
    """SQLite keeps a NUL character; PostgreSQL cannot, and says so as a typed error (an
    HTTP 422, a CLI usage error), never a crash."""
    where = JobFilter(queue="a\x00b")
    if store.url.startswith("postgresql"):
        with pytest.raises(errors.InvalidArguments, match="NUL"):
            store.list_jobs(where)
    else:
        assert store.list_jobs(where) == []
