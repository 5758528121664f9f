"""The Store contract for listing jobs: filters and bad input, on every backend."""

from __future__ import annotations

import pytest

from corral import errors
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter
from tests.factories import WORKER, make_job, new_job

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


def test_a_label_pages_newest_first_whether_most_jobs_carry_it_or_few(store: Store) -> None:
    """A page walks one label's jobs newest first from the cursor (of several labels, the
    one on the fewest jobs) and checks the rest on each job: the pages must be a sort in
    Python's, whatever share of the jobs the label marks. Every job carries the tenant, a
    seventh are flagged, the oldest 150 are crawl 1; 300 are running."""
    jobs = store.enqueue_jobs([
        new_job(meta={"tenant": "acme", "crawl": 1 if n < 150 else 2, "flagged": n % 7 == 0})
        for n in range(2500)])
    running = {job.id for job in store.claim_jobs(WORKER, ["default"], 300)}

    def expected(label: dict[str, object], queued_only: bool = False) -> list[str]:
        return sorted((job.id for job in jobs
                       if all(job.meta[key] == value for key, value in label.items())
                       and not (queued_only and job.id in running)), reverse=True)

    def paged(label: dict[str, object], limit: int, queued_only: bool = False) -> list[str]:
        found: list[str] = []
        while True:
            page = store.list_jobs(JobFilter(
                meta=label, before_id=found[-1] if found else None,
                statuses=(S.QUEUED,) if queued_only else None), limit=limit)
            found += [job.id for job in page]
            if len(page) < limit:
                return found

    for label in ({"tenant": "acme"}, {"flagged": True}, {"crawl": 1}, {"crawl": 2},
                  {"tenant": "acme", "crawl": 1}, {"crawl": 2, "flagged": True}):
        assert paged(label, 100) == expected(label), label
        assert paged(label, 250) == expected(label), label
        assert paged(label, 100, queued_only=True) == expected(label, queued_only=True), label
        assert [job.id for job in store.list_jobs(JobFilter(meta=label), limit=None)] == (
            expected(label))
    assert paged({"tenant": "other"}, 100) == []
