"""The PostgreSQL peers' database: dropped and created fresh for every scenario."""

from __future__ import annotations

import psycopg

from bench.peers import base


def fresh_database() -> None:
    with psycopg.connect(base.POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {base.PEER_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {base.PEER_DATABASE}")
