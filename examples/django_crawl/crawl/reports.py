"""Reports written as Django tasks (Django's Tasks framework), run by corral workers
through ``CorralBackend``: the project's ``TASKS`` setting is all it takes."""

from __future__ import annotations

try:  # Django >= 6.0
    from django.tasks import task
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import task

from crawl.models import Page


@task(priority=10, queue_name="reports")
def pages_report(crawl_id: int) -> dict[str, int]:
    return {"crawl": crawl_id, "pages": Page.objects.filter(crawl_id=crawl_id).count()}


@task(queue_name="reports")
def failing_report(reason: str) -> None:
    raise ValueError(reason)


@task(queue_name="reports", takes_context=True)
def attempt_report(context, label: str) -> dict[str, object]:  # noqa: ANN001
    return {"label": label, "attempt": context.attempt}


@task(queue_name="reports")
async def doubled(n: int) -> int:
    return n * 2
