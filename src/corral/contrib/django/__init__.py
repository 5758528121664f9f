"""corral inside a Django project (DESIGN §12)::

    INSTALLED_APPS = [..., "corral.contrib.django"]
    CORRAL = {"DATABASE_URL": "postgresql://.../app?schema=corral"}   # optional

- ``from corral.contrib.django import app``: the ``Corral`` built from settings, for the
  ``tasks.py`` of every installed app (each is imported when Django starts).
- ``python manage.py corral <command>``: the whole ``corral`` CLI on that store.
- Jobs enqueued inside ``transaction.atomic()`` are written when it commits
  (``CORRAL["ENQUEUE_ON_COMMIT"]``, default true); each job runs between
  ``close_old_connections()`` calls, as a Django request does.
- ``CorralBackend``: Django's Tasks framework on corral workers (``TASKS`` setting).

Django >= 5.2 (``pip install 'corral[django]'``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CorralBackend", "app"]


def __getattr__(name: str) -> Any:
    """``app`` is built on first use, from Django's settings (configured by then: a
    ``tasks.py`` is imported by Django itself, after settings)."""
    if name == "app":
        from corral.contrib.django.conf import django_app
        return django_app()
    if name == "CorralBackend":  # needs Django's Tasks framework: loaded when asked for
        from corral.contrib.django.backend import CorralBackend
        return CorralBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
