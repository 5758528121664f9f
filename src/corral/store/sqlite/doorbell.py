"""The SQLite wake-up path: a datagram doorbell in front of the notifications outbox.

SQLite has no LISTEN/NOTIFY. A writer commits its change (and, for cancels, an outbox
row), then sends a small UDP datagram on loopback to each live worker's doorbell address
(recorded in ``workers``). The worker blocks on its socket, so it learns of new work or a
cancel within a millisecond; a lost datagram is covered by the worker re-reading the
outbox every ``poll_interval`` and, for cancels, by its heartbeat.

A "jobs" datagram carries its queue and needs no read; a "cancel" datagram makes the
worker read the outbox, which holds the job ids.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from corral.store import base

if TYPE_CHECKING:
    from corral.store.sqlite.driver import SQLiteDriver

BELL_JOBS = "jobs"
BELL_CANCEL = "cancel"
BELL_CHANGES = "changes"  # rung to live feeds: something changed, read the change log


def ring(addresses: Iterable[str], channel: str, queue: str | None = None) -> None:
    """Send one datagram to each ``host:port``; never raises (the outbox is the truth)."""
    payload = json.dumps({"c": channel, "q": queue}).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for address in addresses:
            host, _, port = address.rpartition(":")
            try:
                sock.sendto(payload, (host, int(port)))
            except (OSError, ValueError):
                continue


class Doorbell:
    """A bare doorbell: a socket to wait on until somebody rings it (a live feed's)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        host, port = self._sock.getsockname()
        self.address = f"{host}:{port}"

    def wait(self, timeout: float) -> bool:
        """Block until it rings (True: every ring waiting is taken) or ``timeout`` passes."""
        self._sock.settimeout(max(timeout, 0.0))
        try:
            self._sock.recv(512)
            self._sock.setblocking(False)
            while True:
                self._sock.recv(512)
        except BlockingIOError:
            return True
        except (TimeoutError, OSError):
            return False

    def close(self) -> None:
        self._sock.close()


class DoorbellListener:
    """A worker's doorbell socket plus its outbox cursor."""

    def __init__(self, driver: SQLiteDriver, poll_interval: float = 0.5) -> None:
        self._driver = driver
        self._poll_interval = poll_interval
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        host, port = self._sock.getsockname()
        self.address = f"{host}:{port}"
        self._last_id = driver.last_notification_id()

    def wait(self, timeout: float | None = None) -> list[base.Notification]:
        """Block until a bell rings or the poll interval passes; return what is new."""
        limit = self._poll_interval if timeout is None else min(timeout, self._poll_interval)
        self._sock.settimeout(max(limit, 0.0))
        bells: list[dict[str, str | None]] = []
        try:
            bells.append(self._decode(self._sock.recv(512)))
            self._sock.setblocking(False)
            while True:  # drain what else arrived: one outbox read serves them all
                bells.append(self._decode(self._sock.recv(512)))
        except (TimeoutError, BlockingIOError):
            pass
        except OSError:
            return []
        wanted_outbox = not bells or any(bell.get("c") != BELL_JOBS for bell in bells)
        found = [
            base.Notification(id=0, channel=BELL_JOBS, queue=bell.get("q"))
            for bell in bells
            if bell.get("c") == BELL_JOBS
        ]
        if wanted_outbox:
            found.extend(self._read_outbox())
        return found

    def lend(self) -> None:
        """Nothing to lend: a claim waits its turn among SQLite's writers, and the
        listener must stay free to deliver cancels."""
        return None

    def _read_outbox(self) -> list[base.Notification]:
        rows = self._driver.read_notifications(self._last_id)
        if rows:
            self._last_id = rows[-1].id
        return rows

    @staticmethod
    def _decode(data: bytes) -> dict[str, str | None]:
        try:
            value = json.loads(data)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def close(self) -> None:
        self._sock.close()
