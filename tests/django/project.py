"""The crawl example project run as an operator runs it: ``python manage.py ...`` in a
process of its own, with Django's database on SQLite or PostgreSQL (a schema of its own)
and corral's store given by the test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import POSTGRES_URL, postgres_or_skip

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "django_crawl"


@dataclass
class Project:
    env: dict[str, str]
    schema: str | None = None  # Django's PostgreSQL schema, when Django is on PostgreSQL
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def manage(self, *args: str, check: bool = True, timeout: float = 60
               ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr}"
        return done

    def shell(self, code: str) -> str:
        """Run ``code`` in ``manage.py shell``; what it printed (its last line)."""
        output = self.manage("shell", "-v", "0", "-c", code).stdout.strip()
        return output.splitlines()[-1] if output else ""

    def worker(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "corral", "worker", *args], cwd=EXAMPLE,
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.workers.append(process)
        return process

    def django_connections(self) -> int:
        """Open connections of Django (not corral's) to PostgreSQL."""
        assert self.schema is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                               (f"crawl:{self.schema}",)).fetchone()
        return int(row[0]) if row else 0

    def terminate_django_connections(self) -> int:
        """What a PostgreSQL restart does to Django's connections."""
        assert self.schema is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = %s",
                                (f"crawl:{self.schema}",)).fetchall()
        return len(rows)


@contextmanager
def project(django_db: str, store_url: str, folder: Path, **extra: Any) -> Iterator[Project]:
    """The example project, migrated, on Django's ``django_db`` ("sqlite"/"postgres")."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CRAWL_", "CORRAL_")) and key != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="crawlsite.settings", CORRAL_DATABASE_URL=store_url,
               **{key: str(value) for key, value in extra.items()})
    schema = None
    if django_db == "postgres":
        postgres_or_skip()
        schema = f"dj_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        env.update(CRAWL_POSTGRES_DB=POSTGRES_URL.rsplit("/", 1)[1],
                   CRAWL_POSTGRES_SCHEMA=schema)
    else:
        env["CRAWL_SQLITE"] = str(folder / "crawl.db")
    running = Project(env, schema)
    try:
        running.manage("migrate", "-v", "0")
        yield running
    finally:
        for worker in running.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        if schema is not None:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
