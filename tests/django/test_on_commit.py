"""``ENQUEUE_ON_COMMIT`` (DESIGN §12): a job enqueued inside ``transaction.atomic()`` is
written when the transaction commits and dropped when it rolls back, so no worker ever
sees a job whose rows are not committed."""

from __future__ import annotations

import pytest
from crawl.models import CrawlJob, Page
from crawl.tasks import run_crawl, start_crawl
from django.db import transaction

from corral.contrib.django.conf import DjangoCorral
from corral.testing import drain


class Rollback(Exception):
    pass


def test_a_job_enqueued_in_a_transaction_is_written_when_it_commits(app: DjangoCorral) -> None:
    with transaction.atomic():
        crawl = CrawlJob.objects.create(url="https://commit.example", max_pages=2)
        handle = run_crawl.enqueue(crawl.pk)
        assert handle.status == "queued"  # as it will be written
        assert app.list_jobs() == []  # not yet: the crawl's row is not committed either
    job = app.get_job(handle.id)
    assert job.status == "queued" and job.args == [crawl.pk]
    assert [event.kind for event in app.job_events(handle.id)] == ["enqueued"]


def test_a_job_enqueued_in_a_transaction_that_rolls_back_is_never_written(
        app: DjangoCorral) -> None:
    with pytest.raises(Rollback), transaction.atomic():
        crawl = CrawlJob.objects.create(url="https://rollback.example", max_pages=2)
        run_crawl.enqueue(crawl.pk)
        app.batch([run_crawl.s(crawl.pk)], name="never")
        raise Rollback
    assert app.list_jobs() == [] and app.list_batches() == []


def test_a_savepoint_rolled_back_drops_its_jobs_and_keeps_the_outer_ones(
        app: DjangoCorral) -> None:
    with transaction.atomic():
        kept = run_crawl.enqueue(1)
        with pytest.raises(Rollback), transaction.atomic():
            run_crawl.enqueue(2)
            raise Rollback
    assert [job.id for job in app.list_jobs()] == [kept.id]


def test_outside_a_transaction_or_with_the_setting_off_the_job_is_written_at_once(
        app: DjangoCorral) -> None:
    now = run_crawl.enqueue(1)
    assert app.get_job(now.id).status == "queued"
    app.enqueue_on_commit = False
    try:
        with transaction.atomic():
            at_once = run_crawl.enqueue(2)
            assert app.get_job(at_once.id).status == "queued"
    finally:
        app.enqueue_on_commit = True


def test_a_crawl_started_in_a_transaction_runs_and_keeps_its_pages(app: DjangoCorral) -> None:
    crawl = start_crawl("https://pages.example", max_pages=3)
    finished = drain(app, queues=["crawl"])
    assert [(job.id, job.status) for job in finished] == [(crawl.job_id, "completed")]
    assert finished[0].result == {"crawl": crawl.pk, "pages": 3}
    assert Page.objects.filter(crawl=crawl).count() == 3
