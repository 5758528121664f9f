"""Versioned SQL migrations and named queries, read from a backend's package folder.

Migrations are ``migrations/NNNN_name.sql`` files applied in order; each backend records
the applied versions in ``schema_migrations`` and applies the rest under its own lock.
Queries are ``queries.sql``: blocks headed ``-- name: <query>`` and a one-line purpose.
A block headed ``-- part: <part>`` is no query: its lines stand wherever a query writes
``{<part>}``, so lines two statements share are written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_QUERY_HEADER = re.compile(r"^--\s*(name|part):\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_PART = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


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
    """Named queries from ``package``/queries.sql, each part they name written in. A part
    ends without a comment on its last line: it may stand mid-line."""
    text = resources.files(package).joinpath("queries.sql").read_text("utf-8")
    pieces = _QUERY_HEADER.split(text)
    queries: dict[str, str] = {}
    parts: dict[str, str] = {}
    for kind, name, body in zip(pieces[1::3], pieces[2::3], pieces[3::3], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        (queries if kind == "name" else parts)[name] = "\n".join(lines).strip().rstrip(";")

    def part(use: re.Match[str]) -> str:
        if use.group(1) not in parts:
            raise LookupError(f"{package}/queries.sql: no part {use.group(1)!r}")
        return parts[use.group(1)]

    return {name: _PART.sub(part, query) for name, query in queries.items()}
