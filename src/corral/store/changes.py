"""Live change feeds: how a server learns which jobs changed, to push them to watchers.

Both backends log changes with triggers in the writer's own transaction (so no write path
can forget to), and only while a feed is registered in ``change_feeds``: a deployment
nobody watches pays nothing. SQLite keeps a change log that the feed reads by last-seen
id; PostgreSQL sends the ids by NOTIFY. A feed hands out job ids, never rows: the reader
loads the jobs it cares about, so a burst of changes to one job costs one read.
"""

from __future__ import annotations

from typing import Protocol

FEED_TOUCH_EVERY = 10.0  # seconds between a feed's "still here" writes
FEED_STALE_AFTER = 60.0  # a feed silent this long is gone (its server died)


class ChangeFeed(Protocol):
    """Ids of jobs inserted, deleted or visibly changed (status, phase, progress, result,
    flags), in commit order. Heartbeats are not changes."""

    def wait(self, timeout: float) -> list[str] | None:
        """Block up to ``timeout`` seconds; return the ids changed since the last call
        (``[]`` if none). ``None`` means changes may have been missed (the connection was
        lost, or the reader fell too far behind): the reader must re-read what it shows."""

    def close(self) -> None:
        """Stop watching (the triggers go quiet once no feed is left)."""
