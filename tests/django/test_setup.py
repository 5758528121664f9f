"""``corral.contrib.django``'s app: built from settings, tasks autodiscovered, the store's
URL derived from Django's database as DESIGN §12 says."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import corral.contrib.django
from corral.contrib.django import conf


def test_the_project_s_app_is_one_corral_with_every_installed_app_s_tasks() -> None:
    app = corral.contrib.django.app
    assert app is conf.django_app() and isinstance(app, corral.Corral)
    assert "crawl.run" in app.tasks  # crawl/tasks.py, imported by Django at start


@pytest.mark.parametrize(("database", "url"), [
    ({"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "USER": "web",
      "PASSWORD": "p@ss word", "HOST": "db.internal", "PORT": "5433"},
     "postgresql://web:p%40ss%20word@db.internal:5433/shop?schema=corral"),
    ({"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "/run/postgresql"},
     "postgresql:///shop?schema=corral&host=%2Frun%2Fpostgresql"),
    ({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/site/db.sqlite3"},
     "sqlite:////srv/site/corral.db"),
])
def test_the_store_defaults_to_django_s_own_database(database: dict[str, str],
                                                      url: str) -> None:
    assert conf.default_database_url(database) == url


def test_a_database_corral_cannot_share_needs_an_explicit_url() -> None:
    memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        conf.default_database_url(memory)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        conf.default_database_url({"ENGINE": "django.db.backends.mysql", "NAME": "shop"})


def test_a_misspelt_setting_is_refused_at_startup() -> None:
    with override_settings(CORRAL={"DATABASE_URL": "sqlite:///x.db", "HEARTBEAT_INTERVALL": 1}), \
            pytest.raises(ImproperlyConfigured, match="HEARTBEAT_INTERVALL"):
        conf.build()


def test_corral_settings_are_taken_in_upper_case() -> None:
    with override_settings(CORRAL={"DATABASE_URL": "sqlite:///x.db", "CANCEL_GRACE": "5s",
                                   "ENQUEUE_ON_COMMIT": False}):
        built = conf.build()
    assert built.settings.cancel_grace == 5.0 and built.enqueue_on_commit is False
