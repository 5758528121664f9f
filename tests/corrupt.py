"""Write rows the store cannot read back, by hand with SQL, as an older version or an
operator's manual edit would: the only way such rows come to be (corral refuses them)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from corral.store.postgres import connection

# kind -> SQL per backend; each leaves a queued, due job that the decoder refuses (and that
# a claim does not repair), so a claim takes it with the rest of its batch.
SQLITE = {
    "run_at": "UPDATE jobs SET run_at = -1e18 WHERE id = :id",  # year < 1, still due
    "created_at": "UPDATE jobs SET created_at = 'yesterday' WHERE id = :id",
    "args": "UPDATE jobs SET args = '[1, oops' WHERE id = :id",  # not JSON
    "surrogate": "UPDATE jobs SET args = '[\"\\ud800\"]' WHERE id = :id",  # lone surrogate
    "error": "UPDATE jobs SET error = '\"just text\"' WHERE id = :id",
    "number": "UPDATE jobs SET max_attempts = 'three' WHERE id = :id",
}
POSTGRES = {
    "run_at": "UPDATE jobs SET run_at = '0001-01-01 00:00:00+00 BC' WHERE id = %(id)s",
    "created_at": "UPDATE jobs SET created_at = 'infinity' WHERE id = %(id)s",
    "args": "UPDATE jobs SET args = '{\"not\": \"a list\"}' WHERE id = %(id)s",
    "surrogate": "UPDATE jobs SET args = '[\"\\ud800\"]'::json WHERE id = %(id)s",
    "error": "UPDATE jobs SET error = '\"just text\"'::jsonb WHERE id = %(id)s",
    "number": "UPDATE jobs SET timeout = 'NaN' WHERE id = %(id)s",
}
KINDS = tuple(SQLITE)


def corrupt(db_url: str, job_id: str, kind: str) -> None:
    """Apply the ``kind`` corruption to the row of ``job_id``."""
    execute(db_url, (SQLITE if db_url.startswith("sqlite") else POSTGRES)[kind], {"id": job_id})


def execute(db_url: str, sql: str, params: dict[str, Any]) -> None:
    """One statement, straight to the database (no corral in between)."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        try:
            conn.execute("PRAGMA ignore_check_constraints = 1")  # as a manual edit may
            conn.execute(sql, params)
            conn.commit()
        finally:
            conn.close()
        return
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, options=target.options, autocommit=True) as pg:
        pg.execute(sql, params)


def count_rows(db_url: str) -> int:
    """How many job rows exist, counted by SQL (not through corral's decoder)."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        try:
            return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
        finally:
            conn.close()
    target = connection.parse(db_url)
    with psycopg.connect(target.conninfo, options=target.options, autocommit=True) as pg:
        row = pg.execute("SELECT count(*) FROM jobs").fetchone()
        return int(row[0]) if row else 0
