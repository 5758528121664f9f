"""PostgreSQL URLs, schemas and connections for the store.

The URL is a libpq URL plus one corral parameter, ``schema`` (default ``corral``), which
``search_path`` is set to on every connection: the store's SQL names no schema.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from corral import errors

DEFAULT_SCHEMA = "corral"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


@dataclass(frozen=True)
class Target:
    conninfo: str
    schema: str

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
        return f"-c search_path={self.schema}"

    def lock_key(self, worker_id: str) -> int:
        """The worker's advisory lock key: a signed 64-bit hash of schema and id."""
        digest = hashlib.blake2b(f"{self.schema}:{worker_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big", signed=True)


def parse(url: str) -> Target:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", DEFAULT_SCHEMA)
    if not _SCHEMA.match(schema):
        raise errors.StoreError(
            f"schema {schema!r} must be lower-case letters, digits and _", url=url)
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    conninfo = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query),
                           parts.fragment))
    return Target(conninfo, schema)
