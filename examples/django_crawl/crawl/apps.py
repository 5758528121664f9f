from django.apps import AppConfig


class CrawlConfig(AppConfig):
    name = "crawl"
