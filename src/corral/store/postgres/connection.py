"""PostgreSQL URLs, schemas and connections for the store.

The URL is a libpq URL plus one corral parameter, ``schema`` (default ``corral``), which
``search_path`` is set to on every connection: the store's SQL names no schema. libpq's
``options`` in the URL (``?options=-c%20statement_timeout%3D5s``) reach every session too,
ahead of corral's own settings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from corral import errors

DEFAULT_SCHEMA = "corral"
CONNECT_TIMEOUT = 2  # seconds, libpq's smallest
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


@dataclass(frozen=True)
class Target:
    conninfo: str
    schema: str
    session_options: str = ""  # the URL's own ``options``

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel of this schema: stores in other schemas stay apart."""
        return f"corral_{self.schema}"

    @property
    def changes_channel(self) -> str:
        """Where the job-change triggers NOTIFY (migration 0003 names it the same way:
        a hash, since channel names stop at 63 bytes and schema names may be long)."""
        return f"corral_changes_{hashlib.md5(self.schema.encode()).hexdigest()[:16]}"

    @property
    def application_name(self) -> str:
        """Shown in ``pg_stat_activity``: an operator can see (or end) corral's sessions."""
        return f"corral:{self.schema}"

    @property
    def options(self) -> str:
        """libpq ``options`` for every session: the URL's, then the schema (which the
        ``schema`` parameter alone sets)."""
        return f"{self.session_options} -c search_path={self.schema}".lstrip()

    def lock_key(self, worker_id: str) -> int:
        """The worker's advisory lock key: a signed 64-bit hash of schema and id."""
        digest = hashlib.blake2b(f"{self.schema}:{worker_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big", signed=True)


def parse(url: str) -> Target:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", DEFAULT_SCHEMA)
    session_options = query.pop("options", "")
    if not _SCHEMA.match(schema):
        raise errors.StoreError(
            f"schema {schema!r} must be lower-case letters, digits and _", url=url)
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    # quote, not urlencode's quote_plus: libpq reads a '+' as itself, not as a space
    conninfo = urlunsplit((scheme, parts.netloc, parts.path,
                           urlencode(query, quote_via=quote), parts.fragment))
    return Target(conninfo, schema, session_options)


def session_settings(target: Target) -> dict[str, Any]:
    """What every session of the store's own is opened with (pooled or not): UTC,
    ``force_generic_plan`` (the driver's ``GENERIC_PLANS``), and no JIT unless the URL's
    ``options`` ask for it. A generic plan guesses a ``LIMIT`` parameter at a tenth of the
    rows, and past ``jit_above_cost`` the server compiled the claim at every execution:
    12 ms of a 20 ms claim with 1,000,000 jobs queued (1.3 ms without)."""
    return {"autocommit": True, "application_name": target.application_name,
            "options": f"-c jit=off {target.options} -c timezone=UTC"
                       " -c plan_cache_mode=force_generic_plan"}


def connect(target: Target, **settings: Any) -> psycopg.Connection[Any]:
    """A long-lived connection of its own, outside the pool (a LISTEN, a session lock),
    with TCP keepalives so a vanished server is noticed in seconds, not hours; ``settings``
    add to ``psycopg.connect``'s (a ``row_factory``)."""
    return psycopg.connect(target.conninfo, **session_settings(target), keepalives=1,
                           keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                           connect_timeout=CONNECT_TIMEOUT, **settings)


def not_serving(exc: psycopg.OperationalError) -> bool:
    """The server itself says it serves no session now (starting up, shutting down, in
    recovery): nobody, a reaper included, can read or write through it. A refused
    connection does not say so: a dead proxy or a firewall in front of a live server
    refuses too."""
    return exc.sqlstate == "57P03" or "the database system is" in str(exc)
