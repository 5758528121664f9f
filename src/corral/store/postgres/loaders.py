"""Column loaders that never fail a whole result set for one bad value.

psycopg loads every value of a result as it fetches it, and one value Python cannot hold
(a timestamptz past year 9999 or before year 1, ``infinity``; JSON that ``json.loads``
refuses, such as an integer past Python's digit limit) raises ``DataError`` for the whole
fetch: one job edited by hand would fail every claim and every page it falls in. These
loaders return a ``codec.Unreadable`` for such a value instead, and for JSON a write would
not have stored (``codec.read_problem``); the row decoder turns it into ``CorruptRow`` and
the store quarantines that row alone (``corral.store.quarantine``).
Registered on every pooled connection (``register``); JSON is still decoded by
``json.loads``, as psycopg's own loaders do.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import abc, postgres
from psycopg.abc import AdaptContext
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types.json import JsonbBinaryLoader, JsonBinaryLoader, JsonbLoader, JsonLoader

from corral.store import codec


def _raw(data: Any) -> str:
    return bytes(data).decode("utf-8", "replace")


def _unreadable(data: Any, exc: BaseException) -> codec.Unreadable:
    return codec.Unreadable(_raw(data), str(exc).splitlines()[0][:120] if str(exc)
                            else type(exc).__name__)


_FAILURES = (psycopg.DataError, ValueError, OverflowError, RecursionError)


def _tolerant_json(base: type[Any]) -> type[Any]:
    class Tolerant(base):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            try:
                value = super().load(data)
            except _FAILURES as exc:
                return _unreadable(data, exc)
            problem = codec.read_problem(bytes(data), value)
            return value if problem is None else codec.Unreadable(_raw(data), problem)

    Tolerant.__name__ = Tolerant.__qualname__ = f"Tolerant{base.__name__}"
    return Tolerant


def _tolerant_time(format: Format) -> type[Loader]:
    """The loader psycopg itself would use for timestamptz (its C one, with the binary
    package: a third of the pure-Python loader's cost, and every claimed or listed job
    carries several times), wrapped. The C class cannot be subclassed, so it is held."""
    oid = postgres.types["timestamptz"].oid
    found = postgres.adapters.get_loader(oid, format)
    assert found is not None
    fast: type[abc.Loader] = found

    class TolerantTimestamptz(Loader):
        def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
            super().__init__(oid, context)
            self._load = fast(oid, context).load

        def load(self, data: Any) -> Any:
            try:
                return self._load(data)
            except _FAILURES as exc:
                return _unreadable(data, exc)

    TolerantTimestamptz.format = format
    return TolerantTimestamptz


_LOADERS = {
    "timestamptz": (_tolerant_time(Format.TEXT), _tolerant_time(Format.BINARY)),
    "json": (_tolerant_json(JsonLoader), _tolerant_json(JsonBinaryLoader)),
    "jsonb": (_tolerant_json(JsonbLoader), _tolerant_json(JsonbBinaryLoader)),
}


def register(conn: psycopg.Connection[Any]) -> None:
    """Use the tolerant loaders on ``conn`` (the pool's ``configure`` callback)."""
    for type_name, (text, binary) in _LOADERS.items():
        conn.adapters.register_loader(type_name, text)
        conn.adapters.register_loader(type_name, binary)
