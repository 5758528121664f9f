"""Settings of the crawl example: a Django project whose crawls run on corral.

Django's database is SQLite (``crawl.db`` here, or ``CRAWL_SQLITE``) or PostgreSQL when
``CRAWL_POSTGRES_DB`` names a database (``CRAWL_POSTGRES_SCHEMA``: its schema, for tests).
corral's store follows DESIGN §12: Django's PostgreSQL database in schema ``corral``, or
``corral.db`` beside Django's SQLite file, unless ``CORRAL_DATABASE_URL`` says otherwise.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "crawl-example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corral.contrib.django",
    "crawl",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "crawlsite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
STATIC_URL = "static/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("CRAWL_POSTGRES_DB"):
    schema = os.environ.get("CRAWL_POSTGRES_SCHEMA", "public")
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["CRAWL_POSTGRES_DB"],
        "USER": os.environ.get("CRAWL_POSTGRES_USER", "postgres"),
        "HOST": os.environ.get("CRAWL_POSTGRES_HOST", "127.0.0.1"),
        "PORT": os.environ.get("CRAWL_POSTGRES_PORT", "5432"),
        "OPTIONS": {"options": f"-c search_path={schema}", "application_name": f"crawl:{schema}"},
        "CONN_MAX_AGE": int(os.environ.get("CRAWL_CONN_MAX_AGE", "0")),
        "CONN_HEALTH_CHECKS": True,
    }}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("CRAWL_SQLITE", str(BASE_DIR / "crawl.db")),
    }}

CORRAL = {"DATABASE_URL": os.environ["CORRAL_DATABASE_URL"]} if os.environ.get(
    "CORRAL_DATABASE_URL") else {}

# Django's own tasks (crawl/reports.py) run on corral workers too
TASKS = {"default": {"BACKEND": "corral.contrib.django.CorralBackend",
                     "QUEUES": ["default", "reports"]}}
