"""Django in this test process: the crawl example project (``examples/django_crawl``) set
up once per session on a SQLite file of its own, its tables migrated. Each test gets a
fresh corral store on both backends (``django_app``); the Django tables are shared, so a
test makes its own rows. Tests that need Django on PostgreSQL run the example's
``manage.py`` as a process (``project.py``)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "django_crawl"
_DJANGO_FILES = Path(tempfile.mkdtemp(prefix="corral-django-"))

sys.path.insert(0, str(EXAMPLE))  # the project's own modules: crawlsite, crawl
os.environ["DJANGO_SETTINGS_MODULE"] = "crawlsite.settings"
os.environ["CRAWL_SQLITE"] = str(_DJANGO_FILES / "crawl.db")
for _name in ("CRAWL_POSTGRES_DB", "CORRAL_DATABASE_URL"):
    os.environ.pop(_name, None)

import django  # noqa: E402  (after the settings module is named)

django.setup()
# the rest of the session's processes (other tests' workers) are no Django project
del os.environ["DJANGO_SETTINGS_MODULE"], os.environ["CRAWL_SQLITE"]

from django.core.management import call_command  # noqa: E402

import corral.testing  # noqa: E402
from corral.contrib.django.conf import DjangoCorral, django_app  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def django_tables() -> None:
    call_command("migrate", verbosity=0)


@pytest.fixture
def app(db_url: str) -> Iterator[DjangoCorral]:
    """The project's ``Corral`` (``from corral.contrib.django import app``) on a fresh
    store of this test, SQLite or PostgreSQL."""
    project_app = django_app()
    with corral.testing.isolated(project_app, db_url):
        yield project_app
