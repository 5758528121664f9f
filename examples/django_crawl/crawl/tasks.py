"""The crawl: fetch up to ``max_pages`` pages, saving each as it goes (a cancel keeps
what was saved), then index them. Each page is a cancel checkpoint."""

import time

import corral
from corral.contrib.django import app
from crawl.models import CrawlJob, Page


@app.task(name="crawl.run", queue="crawl", phases=["fetch", "index"], max_attempts=2)
def run_crawl(ctx: corral.Context, crawl_id: int, step: float = 0.0) -> dict[str, int]:
    crawl = CrawlJob.objects.get(pk=crawl_id)
    with ctx.phase("fetch"):
        for number in range(crawl.max_pages):
            ctx.progress(number, crawl.max_pages, f"page {number + 1} of {crawl.max_pages}")
            time.sleep(step)  # the example's stand-in for fetching a page
            Page.objects.create(crawl=crawl, url=f"{crawl.url.rstrip('/')}/page/{number + 1}")
        ctx.progress(crawl.max_pages, crawl.max_pages, "fetched")
    with ctx.phase("index"), ctx.shield():
        pages = crawl.pages.count()
    return {"crawl": crawl_id, "pages": pages}


def start_crawl(url: str, max_pages: int = 10, step: float = 0.0) -> CrawlJob:
    """What the project's view or shell does: the row and its job in one transaction (the
    job is written on commit, so the worker always finds the row)."""
    from django.db import transaction

    with transaction.atomic():
        crawl = CrawlJob.objects.create(url=url, max_pages=max_pages)
        handle = run_crawl.s(crawl.pk, step=step).set(meta={"crawl_job_id": crawl.pk}).enqueue()
        crawl.job_id = handle.id
        crawl.save(update_fields=["job_id"])
    return crawl


@app.task(name="crawl.count_pages", queue="crawl", isolation="process")
def count_pages(crawl_id: int) -> int:
    """Runs in a child process of its own (one a cancel can kill): Django is set up there
    as in the worker, so models load."""
    return Page.objects.filter(crawl_id=crawl_id).count()
