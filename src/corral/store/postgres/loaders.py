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
from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader
from psycopg.types.json import JsonbBinaryLoader, JsonBinaryLoader, JsonbLoader, JsonLoader

from corral.store import codec


def _raw(data: Any) -> str:
    return bytes(data).decode("utf-8", "replace")


def _tolerant(base: type[Any], *, json: bool = False) -> type[Any]:
    class Tolerant(base):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            try:
                value = super().load(data)
            except (psycopg.DataError, ValueError, OverflowError, RecursionError) as exc:
                return codec.Unreadable(_raw(data), str(exc).splitlines()[0][:120]
                                        if str(exc) else type(exc).__name__)
            problem = codec.read_problem(bytes(data), value) if json else None
            return value if problem is None else codec.Unreadable(_raw(data), problem)

    Tolerant.__name__ = Tolerant.__qualname__ = f"Tolerant{base.__name__}"
    return Tolerant


_LOADERS = {
    "timestamptz": (_tolerant(TimestamptzLoader), _tolerant(TimestamptzBinaryLoader)),
    "json": (_tolerant(JsonLoader, json=True), _tolerant(JsonBinaryLoader, json=True)),
    "jsonb": (_tolerant(JsonbLoader, json=True), _tolerant(JsonbBinaryLoader, json=True)),
}


def register(conn: psycopg.Connection[Any]) -> None:
    """Use the tolerant loaders on ``conn`` (the pool's ``configure`` callback)."""
    for type_name, (text, binary) in _LOADERS.items():
        conn.adapters.register_loader(type_name, text)
        conn.adapters.register_loader(type_name, binary)
