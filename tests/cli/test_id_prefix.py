"""The store finds jobs by id prefix (how the CLI accepts short ids), on both backends."""

from __future__ import annotations

import pytest

from corral import ids
from corral.store import Store
from corral.store.base import JobFilter
from tests.factories import new_job


def _ids(store: Store, prefix: str) -> list[str]:
    return [job.id for job in store.list_jobs(JobFilter(id_prefix=prefix), limit=None)]


def test_list_jobs_by_id_prefix_finds_exactly_the_jobs_starting_with_it(store: Store) -> None:
    jobs = store.enqueue_jobs([new_job() for _ in range(3)])
    for job in jobs:
        assert _ids(store, job.id) == [job.id]
        assert _ids(store, job.id[:24]) == [job.id]  # past the fourth hyphen
        assert _ids(store, job.id.replace("-", "")[:20].upper()) == [job.id]
    # jobs made in the same millisecond share their first 12 hex digits
    shared = jobs[0].id[:8]
    assert set(_ids(store, shared)) == {j.id for j in jobs if j.id.startswith(shared)}
    assert _ids(store, "ffffffff") == []


def test_prefix_bounds_rejects_what_no_id_can_start_with() -> None:
    for bad in ("xyz123", "0" * 33):
        with pytest.raises(ValueError):
            ids.prefix_bounds(bad)
    low, high = ids.prefix_bounds("0197AB12cd")
    assert low == "0197ab12-cd00-0000-0000-000000000000"
    assert high == "0197ab12-cdff-ffff-ffff-ffffffffffff"
