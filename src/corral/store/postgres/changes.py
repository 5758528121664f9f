"""The PostgreSQL change feed: ``LISTEN`` on the schema's changes channel.

The triggers of migration 0003 NOTIFY the ids of changed jobs when the writer commits, so
a feed hears of a change within milliseconds. The LISTEN runs on a connection of its own
(a LISTEN belongs to one session); if that connection is lost the feed reconnects and
reports ``None``: whatever was sent meanwhile is gone, the reader must re-read.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from corral.ids import uuid7
from corral.store.changes import FEED_TOUCH_EVERY
from corral.store.postgres import connection

if TYPE_CHECKING:
    from corral.store.postgres.driver import PostgresDriver

logger = logging.getLogger("corral.store")


class NotifyFeed:
    def __init__(self, driver: PostgresDriver) -> None:
        self._driver = driver
        self.id = uuid7()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._listen()
        driver.touch_change_feed(self.id)  # after LISTEN: nothing slips by
        self._touched_at = time.monotonic()

    def _listen(self) -> None:
        conn = connection.connect(self._driver.target)
        conn.execute(sql.SQL("LISTEN {}").format(
            sql.Identifier(self._driver.target.changes_channel)))
        self._conn = conn

    def wait(self, timeout: float) -> list[str] | None:
        try:
            if time.monotonic() - self._touched_at >= FEED_TOUCH_EVERY:
                self._driver.touch_change_feed(self.id)
                self._touched_at = time.monotonic()
            if self._conn is None:
                self._listen()
                return None
            payloads = [n.payload for n in self._conn.notifies(timeout=timeout, stop_after=1)]
            if payloads:  # take what else is already here in the same call
                payloads += [n.payload for n in self._conn.notifies(timeout=0.001)]
        except psycopg.OperationalError:
            logger.warning("change feed lost its connection; reconnecting")
            self._drop()
            return None
        return list(dict.fromkeys(i for payload in payloads for i in payload.split(",") if i))

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._drop()
        with contextlib.suppress(Exception):
            self._driver.close_change_feed(self.id)
