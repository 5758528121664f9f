"""Versioned SQL migrations and named queries, read from a backend's package folder.

Migrations are ``migrations/NNNN_name.sql`` files applied in order; each backend records
the applied versions in ``schema_migrations`` and applies the rest under its own lock.
Queries are ``queries.sql``: blocks headed ``-- name: <query>`` and a one-line purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_QUERY_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str) -> list[Migration]:
    """The migrations shipped in ``package``/migrations, oldest first."""
    folder = resources.files(package).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def load_queries(package: str) -> dict[str, str]:
    """Named queries from ``package``/queries.sql."""
    text = resources.files(package).joinpath("queries.sql").read_text("utf-8")
    parts = _QUERY_HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries
