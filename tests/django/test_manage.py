"""``python manage.py corral ...``: the crawl seed's operators' workflow, as processes, with
Django's database on SQLite and on PostgreSQL and corral's store on both: start crawls,
list the running ones, find one by its crawl's id, cancel it (its saved pages stay),
force-cancel another, restart, clean up; exit codes and ``--json`` as ``corral``'s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import corral
from tests.django.project import Project, project
from tests.waiting import wait_until

EXIT_NOT_FOUND = 3


@pytest.fixture(params=["sqlite", "postgres"], ids=["django-sqlite", "django-postgres"])
def crawl_project(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Project:
    with project(request.param, db_url, tmp_path) as running:
        yield running


def jobs_json(crawl_project: Project, *args: str) -> list[dict[str, object]]:
    return list(json.loads(crawl_project.manage("corral", "jobs", "list", "--json",
                                                *args).stdout))


def test_an_operator_lists_cancels_force_cancels_and_restarts_crawls(
        crawl_project: Project, db_url: str, tmp_path: Path) -> None:
    started = json.loads(crawl_project.shell(
        "import json; from crawl.tasks import start_crawl; "
        "crawls = [start_crawl(f'https://site{n}.example', 400, 0.05) for n in range(3)]; "
        "print(json.dumps([[crawl.pk, crawl.job_id] for crawl in crawls]))"))
    (first_pk, first), (second_pk, second), (_, third) = started
    crawl_project.worker("--queues", "crawl", "--concurrency", "2", log=tmp_path / "w.log")
    store = corral.Corral(db_url)
    try:
        wait_until(lambda: store.get_job(first).status == "running"
                   and store.get_job(second).status == "running", timeout=30,
                   message="two crawls to run")
        wait_until(lambda: store.get_job(first).progress.current >= 2, timeout=30,
                   message="the first crawl to save pages")
        running = jobs_json(crawl_project, "--status", "running")
        assert sorted(job["id"] for job in running) == sorted([first, second])
        found = jobs_json(crawl_project, "--meta", f"crawl_job_id={second_pk}")
        assert [job["id"] for job in found] == [second]

        crawl_project.manage("corral", "cancel", first[-12:], "--reason", "wrong site")
        assert store.get_job(first).status in ("cancelling", "cancelled")
        crawl_project.manage("corral", "cancel", second, "--force", "--yes")
        assert store.get_job(second).status == "cancelled"  # at once, whatever its worker does
        cancelled = wait_until(lambda: (job := store.get_job(first)).is_terminal and job,
                               timeout=30, message="the first crawl to stop")
        assert cancelled.status == "cancelled" and cancelled.cancel_reason == "wrong site"
        pages = int(crawl_project.shell(
            f"from crawl.models import Page; print(Page.objects.filter(crawl={first_pk}).count())"))
        assert 2 <= pages < 400  # what it fetched before the cancel is kept

        missing = crawl_project.manage("corral", "jobs", "show", "0" * 12, check=False)
        assert missing.returncode == EXIT_NOT_FOUND and "Traceback" not in missing.stderr
        crawl_project.manage("corral", "restart", first, "--reason", "fixed the site list")
        wait_until(lambda: store.get_job(first).status == "running", timeout=30,
                   message="the restarted crawl to run")
        crawl_project.manage("corral", "cancel", "--all", "--status", "running,queued",
                             "--queue", "crawl", "--yes")
        wait_until(lambda: all(store.get_job(job_id).is_terminal
                               for job_id in (first, second, third)),
                   timeout=30, message="every crawl to stop")
        stats = json.loads(crawl_project.manage("corral", "stats", "--json").stdout)
        assert stats["counts"]["cancelled"] == 3
        assert stats["workers"]["alive"] == 1
        crawl_project.manage("corral", "delete", second, "--yes")
        assert [job.id for job in store.list_jobs()] == sorted([first, third], reverse=True)
    finally:
        store.close()


def test_a_django_task_s_result_id_works_with_manage_py_corral(
        db_url: str, tmp_path: Path) -> None:
    with project("sqlite", db_url, tmp_path) as crawl_project:
        result_id = crawl_project.shell(
            "from crawl.reports import pages_report; print(pages_report.enqueue(7).id)")
        shown = json.loads(crawl_project.manage("corral", "jobs", "show", result_id[-12:],
                                                "--json").stdout)["job"]
        assert (shown["id"], shown["task"], shown["args"]) == (
            result_id, "django.tasks.run", [7])
        crawl_project.manage("corral", "cancel", result_id, "--reason", "not today")
        status = crawl_project.shell(
            "from crawl.reports import pages_report; "
            f"print(pages_report.get_result('{result_id}').status)")
        assert status == "FAILED"
