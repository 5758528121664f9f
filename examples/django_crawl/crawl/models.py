"""A crawl the operators start, and the pages it saved: kept even when the crawl is
cancelled midway."""

from django.db import models


class CrawlJob(models.Model):
    url = models.URLField()
    max_pages = models.PositiveIntegerField(default=10)
    job_id = models.CharField(max_length=36, blank=True, help_text="its corral job")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"crawl {self.pk} of {self.url}"


class Page(models.Model):
    crawl = models.ForeignKey(CrawlJob, on_delete=models.CASCADE, related_name="pages")
    url = models.URLField()
    fetched_at = models.DateTimeField(auto_now_add=True)
