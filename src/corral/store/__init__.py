"""Stores: ``open_store(url)`` picks the backend from the URL scheme."""

from __future__ import annotations

from corral import errors
from corral.store.base import Store
from corral.store.engine import Engine


def open_store(url: str) -> Store:
    """A store for ``sqlite:///path`` (``sqlite:///:memory:`` is refused: workers share
    the file) or ``postgresql://user@host/db?schema=name`` (schema default ``corral``)."""
    if url.startswith("sqlite:///"):
        from corral.store.sqlite.driver import SQLiteDriver

        return Engine(SQLiteDriver(url))
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from corral.store.postgres.driver import PostgresDriver
        except ImportError as exc:
            raise errors.StoreError(
                "the PostgreSQL store needs psycopg: pip install 'corral[postgres]'", url=url
            ) from exc
        return Engine(PostgresDriver(url))
    raise errors.StoreError(
        f"unsupported database URL {url!r}: expected sqlite:///path or postgresql://...",
        url=url,
    )


__all__ = ["Engine", "Store", "open_store"]
