"""``CorralBackend``: Django's Tasks framework (the django-tasks backport on Django 5.2)
on corral workers: enqueue, run, get_result with DESIGN §12's status mapping, priority,
queue and run_after on the corral job, cancel by the result's id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from crawl.models import CrawlJob, Page
from crawl.reports import attempt_report, doubled, failing_report, pages_report
from django_tasks import TaskResultStatus, default_task_backend, task_backends
from django_tasks.exceptions import TaskResultDoesNotExist

from corral.contrib.django import CorralBackend
from corral.contrib.django.conf import DjangoCorral
from corral.testing import drain


def test_the_backend_says_what_it_supports() -> None:
    assert isinstance(task_backends["default"], CorralBackend)
    assert default_task_backend.supports_defer and default_task_backend.supports_priority
    assert default_task_backend.supports_get_result
    assert default_task_backend.supports_async_task


def test_a_django_task_runs_on_a_corral_worker_and_its_result_is_read_back(
        app: DjangoCorral) -> None:
    crawl = CrawlJob.objects.create(url="https://report.example", max_pages=2)
    Page.objects.create(crawl=crawl, url="https://report.example/1")
    result = pages_report.enqueue(crawl.pk)
    assert result.status == TaskResultStatus.READY
    job = app.get_job(result.id)  # the result's id is the corral job's
    assert (job.task, job.queue, job.priority, job.args) == (
        "django.tasks.run", "reports", 10, [crawl.pk])
    assert job.meta["django_task"] == "crawl.reports.pages_report"

    [finished] = drain(app, queues=["reports"])
    assert finished.id == result.id and finished.status == "completed"
    read = pages_report.get_result(result.id)
    assert read.status == TaskResultStatus.SUCCESSFUL
    assert read.return_value == {"crawl": crawl.pk, "pages": 1}
    assert read.finished_at is not None and read.worker_ids == [finished.worker_id]


def test_a_failing_django_task_is_failed_with_its_error(app: DjangoCorral) -> None:
    result = failing_report.enqueue("no pages")
    drain(app, queues=["reports"])
    read = default_task_backend.get_result(result.id)
    assert read.status == TaskResultStatus.FAILED
    [error] = read.errors
    assert error.exception_class is ValueError and "no pages" in error.traceback


def test_context_and_async_tasks_run_too(app: DjangoCorral) -> None:
    with_context = attempt_report.enqueue("daily")
    twice = doubled.enqueue(21)
    drain(app, queues=["reports"])
    assert default_task_backend.get_result(with_context.id).return_value == {
        "label": "daily", "attempt": 1}
    assert default_task_backend.get_result(twice.id).return_value == 42


def test_run_after_schedules_the_corral_job(app: DjangoCorral) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    result = pages_report.using(run_after=later).enqueue(1)
    job = app.get_job(result.id)
    assert job.status == "scheduled" and job.run_at == later
    assert result.status == TaskResultStatus.READY


def test_a_django_task_cancelled_by_its_id_reads_failed(app: DjangoCorral) -> None:
    result = pages_report.enqueue(1)
    app.cancel(result.id, reason="not needed", actor="ops")  # as `corral cancel <id>`
    read = pages_report.get_result(result.id)
    assert read.status == TaskResultStatus.FAILED
    assert "not needed" in read.errors[0].traceback
    assert drain(app, queues=["reports"]) == []  # it never runs


def test_an_unknown_result_id_does_not_exist(app: DjangoCorral) -> None:
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("0" * 32)
    plain = app.enqueue(app.get_task("crawl.count_pages").s(1))  # a corral job, no Django task
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(plain.id)
