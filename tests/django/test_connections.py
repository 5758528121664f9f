"""Django's connection hygiene in corral's worker (DESIGN §12): each job runs between
``close_old_connections()`` calls, so a worker's threads hold no Django connection
between jobs (``CONN_MAX_AGE=0``), and a connection a PostgreSQL restart killed is not
reused (``CONN_MAX_AGE>0`` with health checks). Django on PostgreSQL, counted from
``pg_stat_activity``; the worker is ``manage.py corral worker``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import corral
from tests.django.project import Project, project
from tests.waiting import wait_until

CONCURRENCY = 4


def start_crawls(crawl_project: Project, count: int) -> list[str]:
    return list(json.loads(crawl_project.shell(
        "import json; from crawl.tasks import start_crawl; "
        f"print(json.dumps([start_crawl('https://site{{n}}.example', 5).job_id "
        f"for n in range({count})]))")))


def all_completed(store: corral.Corral, job_ids: list[str]) -> bool:
    return all(store.get_job(job_id).status == "completed" for job_id in job_ids)


@pytest.fixture
def store(db_url: str) -> corral.Corral:
    app = corral.Corral(db_url)
    yield app
    app.close()


def test_a_worker_holds_no_django_connection_between_jobs(
        db_url: str, store: corral.Corral, tmp_path: Path) -> None:
    with project("postgres", db_url, tmp_path) as crawl_project:
        crawl_project.worker("--queues", "crawl", "--concurrency", str(CONCURRENCY),
                             log=tmp_path / "worker.log")
        job_ids = start_crawls(crawl_project, 12)
        wait_until(lambda: all_completed(store, job_ids), timeout=60,
                   message="every crawl to complete")
        # the worker lives on, its threads idle: every connection its jobs opened is closed
        wait_until(lambda: crawl_project.django_connections() == 0, timeout=10,
                   message="the worker's Django connections to close")
        assert crawl_project.workers[0].poll() is None


def test_a_connection_killed_by_a_database_restart_is_not_reused(
        db_url: str, store: corral.Corral, tmp_path: Path) -> None:
    with project("postgres", db_url, tmp_path, CRAWL_CONN_MAX_AGE=600) as crawl_project:
        crawl_project.worker("--queues", "crawl", "--concurrency", "1",
                             log=tmp_path / "worker.log")
        before = start_crawls(crawl_project, 2)
        wait_until(lambda: all_completed(store, before), timeout=60,
                   message="the first crawls to complete")
        assert crawl_project.django_connections() == 1  # kept for CONN_MAX_AGE, as asked
        assert crawl_project.terminate_django_connections() == 1
        after = start_crawls(crawl_project, 2)
        wait_until(lambda: all(store.get_job(job_id).is_terminal for job_id in after),
                   timeout=60, message="the next crawls to finish")
        assert [store.get_job(job_id).status for job_id in after] == ["completed"] * 2, \
            (tmp_path / "worker.log").read_text()


def test_a_process_isolated_task_uses_the_orm_in_its_child_process(
        db_url: str, store: corral.Corral, tmp_path: Path) -> None:
    with project("sqlite", db_url, tmp_path) as crawl_project:
        crawl_project.worker("--queues", "crawl", log=tmp_path / "worker.log")
        [crawl_job] = start_crawls(crawl_project, 1)
        wait_until(lambda: all_completed(store, [crawl_job]), timeout=60,
                   message="the crawl to complete")
        counted = crawl_project.shell(
            "from crawl.tasks import count_pages; from crawl.models import CrawlJob; "
            f"print(count_pages.enqueue(CrawlJob.objects.get(job_id='{crawl_job}').pk).id)")
        job = wait_until(lambda: (found := store.get_job(counted)).is_terminal and found,
                         timeout=60, message="the count to finish")
        assert (job.status, job.result) == ("completed", 5), job.error
