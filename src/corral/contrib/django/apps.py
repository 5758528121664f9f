"""The Django app ``corral.contrib.django`` (label ``corral``)."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CorralConfig(AppConfig):
    name = "corral.contrib.django"
    label = "corral"
    verbose_name = "corral jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Import every installed app's ``tasks.py``, so the worker, the admin and
        ``manage.py corral enqueue`` know every task by name (as Celery's autodiscovery)."""
        from corral.contrib.django.conf import django_app

        django_app()  # a bad CORRAL setting is an error at startup, not at first enqueue
        autodiscover_modules("tasks")
