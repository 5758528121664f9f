"""The SQLite change feed: the ``job_changes`` log, read by last-seen id.

SQLite has one writer at a time, so log ids are handed out in commit order and a reader
never sees a later id before an earlier one. The feed reads one indexed range when its
doorbell rings (every writer that changed something rings the open feeds after its
commit: a change reaches a stream within a millisecond or two) and at least every
``poll_interval`` (50 ms, for a lost datagram), says it is still there every
``FEED_TOUCH_EVERY`` and then prunes the log, keeping ``KEEP`` rows for other feeds that
lag behind.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from corral.ids import uuid7
from corral.store.changes import FEED_TOUCH_EVERY
from corral.store.sqlite.doorbell import Doorbell

if TYPE_CHECKING:
    from corral.store.sqlite.driver import SQLiteDriver

KEEP = 100_000  # change-log rows kept behind the newest this feed has read
READ_LIMIT = 5000


class ChangeLogFeed:
    def __init__(self, driver: SQLiteDriver, poll_interval: float = 0.05) -> None:
        self._driver = driver
        self._poll_interval = poll_interval
        self.id = uuid7()
        self._bell = Doorbell()
        driver.touch_change_feed(self.id, prune_upto=0,  # the triggers start logging
                                 doorbell=self._bell.address)
        self._touched_at = time.monotonic()
        self._cursor = driver.last_change_id()

    def wait(self, timeout: float) -> list[str] | None:
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() - self._touched_at >= FEED_TOUCH_EVERY:
                self._driver.touch_change_feed(self.id, prune_upto=self._cursor - KEEP,
                                               doorbell=self._bell.address)
                self._touched_at = time.monotonic()
            rows = self._driver.read_changes(self._cursor, READ_LIMIT)
            if rows:
                gap = rows[0][0] != self._cursor + 1  # pruned past us: some were missed
                self._cursor = rows[-1][0]
                return None if gap else list(dict.fromkeys(job_id for _, job_id in rows))
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            self._bell.wait(min(self._poll_interval, left))

    def close(self) -> None:
        self._driver.close_change_feed(self.id)
        self._bell.close()
