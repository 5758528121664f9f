"""What the HTTP server writes to its log: never a token, never a query string, no floods.

- :class:`Redact` (on every handler): the configured token values are cut out of every
  record, wherever they were sent (a header, a query string, a body echoed in an error);
  and uvicorn's access lines lose their query strings (a token sent as ``?token=`` by
  mistake was refused with a 401, but written to disk).
- :class:`Throttle` (on the ``asyncio`` and ``uvicorn.error`` loggers): the same message
  at most once per :data:`THROTTLE_INTERVAL`, then a count of the ones held back. When
  ``accept()`` fails for lack of file descriptors, asyncio logs the error with its
  traceback up to ``backlog`` (2,048) times per wake-up: 382 MB in 40 s.

Filters sit on handlers, not loggers, for redaction: a logger's filters do not see records
that propagate to it from a child logger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

THROTTLE_INTERVAL = 10.0  # seconds
THROTTLED_LOGGERS = ("asyncio", "uvicorn.error", "corral.http.accept")
REDACTED_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")  # "": the root
ACCESS_LOGGER = "uvicorn.access"
MASK = "[redacted]"
_MAX_KEYS = 256  # distinct throttled messages remembered; past it the memory starts over


def without_query(target: str) -> str:
    """``/api/v1/jobs?token=x`` -> ``/api/v1/jobs?…``: the path stays, the query does not."""
    path, mark, _ = target.partition("?")
    return f"{path}?…" if mark else path


class Redact(logging.Filter):
    """Cuts known secrets out of a record (message, arguments, traceback) and query strings
    out of access lines. One instance is shared by every handler it is installed on."""

    def __init__(self) -> None:
        super().__init__()
        # written by add_secrets (when a server starts), read by every logging thread:
        # replaced whole, never changed in place
        self._secrets: tuple[str, ...] = ()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        merged = set(self._secrets) | {secret for secret in secrets if secret}
        self._secrets = tuple(sorted(merged, key=len, reverse=True))  # longest first

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) \
                and len(record.args) >= 3:
            # uvicorn: (client, method, path with query, http version, status)
            args = list(record.args)
            args[2] = without_query(str(args[2]))
            record.args = tuple(args)
        if self._secrets:
            self._scrub_record(record)
        return True

    def _scrub_record(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str):
            record.msg = self.scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.scrub(a) if isinstance(a, str) else a
                                for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self.scrub(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class Throttle(logging.Filter):
    """Lets the same message (its first line, per logger) through at most once per
    ``interval``; the next one let through says how many were held back meanwhile."""

    def __init__(self, interval: float = THROTTLE_INTERVAL) -> None:
        super().__init__()
        self.interval = interval
        self._lock = threading.Lock()  # records come from the loop thread and others
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # -> (last let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).split("\n", 1)[0])
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.interval:
                self._seen[key] = (last, held + 1)
                return False
            if len(self._seen) >= _MAX_KEYS:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last " \
                         f"{now - last:.0f} s not logged)"
        return True


# One of each per process: installing twice (two servers in a process) adds secrets, not
# filters. Written under _install_lock; read by logging.
REDACT = Redact()
THROTTLE = Throttle()
_install_lock = threading.Lock()


def install(secrets: Iterable[str] = ()) -> None:
    """Put the filters on the server's loggers and their handlers as they are now (call it
    after uvicorn has configured its logging); ``secrets`` join the ones to cut out."""
    with _install_lock:
        REDACT.add_secrets(secrets)
        for name in THROTTLED_LOGGERS:
            _add_once(logging.getLogger(name), THROTTLE)
        for name in REDACTED_LOGGERS:
            for handler in logging.getLogger(name).handlers:
                _add_once(handler, REDACT)


def _add_once(target: logging.Filterer, kind: logging.Filter) -> None:
    if kind not in target.filters:
        target.addFilter(kind)
