"""Short ids (DESIGN §1) on both stores: the full id, the short id (last 12 hex digits) and
any unique prefix or suffix of 6+ digits name a job through ``Corral.resolve_id``; an
ambiguous one is refused with its candidates; a suffix is an index probe, never a scan."""

from __future__ import annotations

import dataclasses
import sqlite3
from urllib.parse import urlsplit

import psycopg
import pytest

import corral
from corral import errors, ids
from corral.job import Job
from corral.store import Store
from tests.factories import new_job


def same_millisecond(store: Store, count: int, *, tail: str | None = None) -> list[Job]:
    """``count`` jobs whose ids were made in the same millisecond (they share their first
    12 hex digits, the timestamp), optionally all ending in ``tail``."""
    while True:
        made = [ids.uuid7() for _ in range(count)]
        if len({job_id[:13] for job_id in made}) == 1:
            break
    if tail is not None:
        made = [job_id[:-len(tail)] + tail for job_id in made]
    return store.enqueue_jobs([dataclasses.replace(new_job(), id=job_id) for job_id in made])


def test_full_short_prefix_and_suffix_each_name_the_job(app: corral.Corral) -> None:
    job, other = same_millisecond(app.store, 2)
    digits = job.id.replace("-", "")
    for given in (job.id, job.id.upper(), digits, ids.short(job.id), digits[-6:],
                  digits[-20:], job.id[-9:], digits[:20], job.id[:24], f"  {ids.short(job.id)} "):
        assert app.resolve_id(given) == job.id, given
    assert app.resolve_id(ids.short(other.id)) == other.id
    assert len(ids.short(job.id)) == 12 and job.id.endswith(ids.short(job.id))


def test_a_prefix_shared_by_jobs_of_one_millisecond_is_ambiguous(app: corral.Corral) -> None:
    jobs = same_millisecond(app.store, 3)
    with pytest.raises(errors.AmbiguousId) as refused:
        app.resolve_id(jobs[0].id[:13])  # the timestamp: the same for all three
    assert sorted(refused.value.candidates) == sorted(job.id for job in jobs)
    assert all(ids.short(job.id) in refused.value.message for job in jobs)
    for job in jobs:  # their short ids still tell them apart
        assert app.resolve_id(ids.short(job.id)) == job.id


def test_a_suffix_shared_by_two_jobs_is_ambiguous_and_a_longer_one_is_not(
        app: corral.Corral) -> None:
    first, second = same_millisecond(app.store, 2, tail="abcdef")
    with pytest.raises(errors.AmbiguousId) as refused:
        app.resolve_id("abcdef")
    assert set(refused.value.candidates) == {first.id, second.id}
    assert app.resolve_id(ids.short(first.id)) == first.id  # random digits before the tail


def test_many_candidates_are_listed_up_to_a_few(app: corral.Corral) -> None:
    jobs = same_millisecond(app.store, 8)
    with pytest.raises(errors.AmbiguousId) as refused:
        app.resolve_id(jobs[0].id[:8])
    assert len(refused.value.candidates) == ids.SHOWN_CANDIDATES
    assert "more than" in refused.value.message


@pytest.mark.parametrize("given", ["", "abc", "12345", "xyz123", "not-an-id", "g" * 12,
                                   "0" * 33, "3d29f639 6dbb"])
def test_too_short_long_or_not_hex_is_invalid(app: corral.Corral, given: str) -> None:
    with pytest.raises(errors.InvalidJobId):
        app.resolve_id(given)


def test_unknown_short_id_is_not_found(app: corral.Corral) -> None:
    same_millisecond(app.store, 1)
    with pytest.raises(errors.JobNotFound):
        app.resolve_id("0123456789ab")


def test_a_full_id_costs_no_query(app: corral.Corral, monkeypatch: pytest.MonkeyPatch) -> None:
    (job,) = same_millisecond(app.store, 1)

    def no_lookup(*args: object, **kwargs: object) -> list[Job]:
        raise AssertionError("a full id must not be looked up")

    monkeypatch.setattr(app.store, "jobs_matching_id", no_lookup)
    assert app.resolve_id(job.id) == job.id
    assert app.resolve_id(job.id.replace("-", "").upper()) == job.id


def test_a_suffix_lookup_probes_the_id_tail_index(app: corral.Corral, db_url: str) -> None:
    same_millisecond(app.store, 3)
    tail, pattern = ids.suffix_probe("0123456789ab")
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(urlsplit(db_url).path)
        plan = " ".join(str(row) for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE substr(id, -6) = ? "
            "AND replace(id, '-', '') LIKE ?", (tail, pattern)))
        conn.close()
    else:
        url, _, schema = db_url.partition("?schema=")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("SET enable_seqscan = off")  # a 3-row table would be scanned
            plan = " ".join(row[0] for row in conn.execute(
                "EXPLAIN SELECT * FROM jobs WHERE right(id, 6) = %s "
                "AND replace(id, '-', '') LIKE %s", (tail, pattern)))
    assert "jobs_id_tail" in plan, plan


def test_the_facade_lists_jobs_by_id_prefix(store: Store) -> None:
    app = corral.Corral(store.url)
    try:
        (job,) = store.enqueue_jobs([new_job()])
        digits = job.id.replace("-", "")
        assert [j.id for j in app.list_jobs(id_prefix=digits[:13])] == [job.id]
        assert [j.id for j in app.list_jobs(id_prefix=job.id[:14].upper())] == [job.id]
        with pytest.raises(errors.InvalidJobId):
            app.list_jobs(id_prefix="xyz")
    finally:
        app.close()
