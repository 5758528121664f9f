"""What one client may hold of the server: connections, time, and request-head bytes.

uvicorn's httptools protocol (kept for its speed) closes a keep-alive connection after
``timeout_keep_alive``, but a connection that never sends a byte, or sends its head one
byte at a time, is held forever; and llhttp caps neither the size nor the count of header
fields. With the common 1,024 open-files limit, 1,100 idle sockets then starve every other
client, and each failed ``accept()`` is logged (asyncio logs up to ``backlog`` errors per
wake-up: the log flood; see :class:`Listener`, and :mod:`corral.http.serverlog`).

:class:`GuardedProtocol` adds, per connection:

- an idle timeout from the moment it opens (not only after a response), and a deadline for
  the whole request head that trickling bytes do not extend (slowloris);
- a cap on the head's size and on its number of header fields: 431 past either;

and, for the whole server, a :class:`Gate`: at most ``max_connections`` (kept below the
open-files limit, so ``accept()`` does not fail in the first place). A new connection over
the cap closes the connection idle the longest (not one whose request has arrived, unread:
see :meth:`GuardedProtocol.has_unread_input`); if none is idle (all are busy, e.g. event
streams) it is still let in, up to :data:`HEALTH_HEADROOM` more, but may only ask for
``/healthz`` (503 otherwise), so a health check answers whatever the load.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import enum
import errno
import logging
import os
import socket
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.reduction import DupFd
from typing import Any, ClassVar, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

try:
    import fcntl
    import resource
    import termios
except ImportError:  # pragma: no cover - not on Windows
    fcntl = resource = termios = None  # type: ignore[assignment]

logger = logging.getLogger("corral.http")
accept_log = logging.getLogger("corral.http.accept")  # throttled (serverlog)

HEALTH_PATH = b"/api/v1/healthz"  # the one route an over-the-cap connection may ask for
DEFAULT_MAX_CONNECTIONS = 1000
FD_RESERVE = 128  # open files kept for the store, logs and workers, beside client sockets
HEALTH_HEADROOM = 32  # connections let in past the cap, for /healthz only
FALLBACK_OPEN_FILES = 1024  # where the limit cannot be read
LINGER = 2.0  # s a refused request's connection is drained before it is closed


@dataclass(frozen=True)
class Limits:
    """The server's limits per client (README "Hardening"; ``corral serve`` flags)."""

    keep_alive_timeout: float = 5.0  # s a connection may sit idle, before or between requests
    header_timeout: float = 10.0  # s a request head may take to arrive whole
    max_header_bytes: int = 32 * 1024  # request line and header fields together
    max_headers: int = 100  # header fields per request
    max_connections: int | None = None  # None: DEFAULT_MAX_CONNECTIONS, within open files


def open_files_limit() -> int:
    if resource is None:  # pragma: no cover
        return FALLBACK_OPEN_FILES
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return FALLBACK_OPEN_FILES if soft == resource.RLIM_INFINITY else int(soft)


def connection_cap(limits: Limits) -> int:
    """``max_connections`` clipped so that the cap, its headroom and the reserve fit in the
    open-files limit: past it ``accept()`` fails, and nobody, not even /healthz, gets in."""
    wanted = limits.max_connections or DEFAULT_MAX_CONNECTIONS
    room = open_files_limit() - FD_RESERVE - HEALTH_HEADROOM
    if wanted > room:
        logger.warning("max_connections %d lowered to %d: the open-files limit is %d",
                       wanted, max(room, 1), open_files_limit())
    return max(min(wanted, room), 1)


class Listener(socket.socket):
    """The listening socket, shedding load instead of stalling when the process is out of
    file descriptors.

    asyncio's accept loop, on EMFILE, logs the error with its traceback, stops accepting
    for a second, and goes on trying (and logging) up to ``backlog`` times in the same
    wake-up, each time scheduling another restart. Here such an ``accept()`` instead
    frees a spare descriptor, accepts the waiting connection and closes it at once (its
    client sees a closed connection, not a hang), takes the spare back, and reports "no
    connection waiting": asyncio returns quietly and tries again on the next wake-up, by
    when the gate has closed idle connections to make room (the nginx and libuv trick).
    """

    def __init__(self, family: int = socket.AF_INET, fileno: int | None = None) -> None:
        super().__init__(family, socket.SOCK_STREAM, fileno=fileno)
        self._spare: int | None = None  # only the event loop's thread accepts
        self._take_spare()

    def accept(self) -> tuple[socket.socket, Any]:
        try:
            return super().accept()
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            self._shed()
            raise BlockingIOError(errno.EAGAIN, "out of file descriptors") from exc

    def close(self) -> None:
        self._drop_spare()
        super().close()

    def _shed(self) -> None:
        accept_log.warning("out of file descriptors: new connections are closed at once "
                           "(the open-files limit is %d)", open_files_limit())
        self._drop_spare()
        with contextlib.suppress(OSError):
            super().accept()[0].close()
        self._take_spare()

    def _take_spare(self) -> None:
        with contextlib.suppress(OSError):
            self._spare = os.open(os.devnull, os.O_RDONLY)

    def _drop_spare(self) -> None:
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None


def _reduce_listener(listener: Listener) -> tuple[Any, tuple[Any, int]]:
    """How a Listener crosses to a server process (``corral serve --processes``): as its
    descriptor, duplicated the way multiprocessing sends a plain socket; each process
    keeps its own spare."""
    return _rebuild_listener, (DupFd(listener.fileno()), listener.family)


def _rebuild_listener(duplicate: Any, family: int) -> Listener:
    return Listener(family, fileno=duplicate.detach())


reduction.register(Listener, _reduce_listener)


class Admission(enum.Enum):
    OPEN = "open"  # under the cap
    HEALTH_ONLY = "health-only"  # over the cap, nobody idle to close: /healthz or 503
    REFUSED = "refused"  # past the headroom too: closed at once


class Gate:
    """The server's open connections, and the idle ones oldest first.

    Only the event loop's thread reads or writes it (protocol callbacks), so it needs no
    lock. ``idle`` is an insertion-ordered map: closing the longest-idle is O(1).
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.ceiling = cap + HEALTH_HEADROOM
        self._open: set[GuardedProtocol] = set()
        self._idle: OrderedDict[GuardedProtocol, None] = OrderedDict()

    def admit(self, connection: GuardedProtocol) -> Admission:
        while len(self._open) >= self.cap and self._idle:
            victim, _ = self._idle.popitem(last=False)
            if victim.has_unread_input():  # its request has arrived, unread: not idle
                continue
            self.forget(victim)
            victim.close_idle()
        if len(self._open) >= self.ceiling:
            return Admission.REFUSED
        answer = Admission.OPEN if len(self._open) < self.cap else Admission.HEALTH_ONLY
        self._open.add(connection)
        self.idle(connection)
        return answer

    def idle(self, connection: GuardedProtocol) -> None:
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection)

    def busy(self, connection: GuardedProtocol) -> None:
        self._idle.pop(connection, None)

    def forget(self, connection: GuardedProtocol) -> None:
        self._open.discard(connection)
        self._idle.pop(connection, None)

    @property
    def open_count(self) -> int:
        return len(self._open)


class _HeadRefused(Exception):
    """Raised from a parser callback: httptools stops parsing, uvicorn answers (431)."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above (made by :func:`protocol_for`)."""

    limits: ClassVar[Limits]
    gate: ClassVar[Gate]

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._reading_head = True  # between requests, or inside a head not yet complete
        self._head_bytes = 0  # bytes received since the head began (llhttp buffers them)
        self._head_size = 0  # request line and fields seen by the parser callbacks
        self._header_count = 0
        self._refusal: str | None = None  # why the head was refused: answered with a 431
        self._head_deadline: asyncio.TimerHandle | None = None
        self._health_only = False
        self._lingering = False  # answered and closing: input is read and dropped
        # uvicorn's hint says int (whole seconds); call_later takes any float
        self.timeout_keep_alive = self.limits.keep_alive_timeout  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        admission = self.gate.admit(self)
        if admission is Admission.REFUSED:
            self.transport.abort()
            return
        self._health_only = admission is Admission.HEALTH_ONLY
        # uvicorn arms this only after a response; a silent new connection had no timeout
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler)
        self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gate.forget(self)
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def has_unread_input(self) -> bool:
        """Whether bytes wait in the socket that the loop has not handed us yet.

        A connection is admitted as idle, and its request is read a loop turn or more
        later: under a burst of connections it can reach the front of the idle line with
        its request already sent. Closing it then resets the client mid-request (a socket
        closed with unread input sends RST), so the gate skips it.
        """
        sock = self.transport.get_extra_info("socket")
        if fcntl is None or sock is None:  # pragma: no cover - Windows
            return False
        waiting = array.array("i", [0])
        with contextlib.suppress(OSError):
            fcntl.ioctl(sock.fileno(), termios.FIONREAD, waiting)
        return waiting[0] > 0

    def close_idle(self) -> None:
        """Closed by the gate to make room: the connection was waiting for a request."""
        self._cancel_head_deadline()
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (self._reading_head and self._head_bytes > self.limits.max_header_bytes
                and not self._lingering and not self.transport.is_closing()):
            self._refusal = "request header fields too large"
            self.send_400_response(self._refusal)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url), fields=0)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, fields=1)
        super().on_header(name, value)

    def _count(self, size: int, *, fields: int) -> None:
        self._head_size += size
        self._header_count += fields
        if self._head_size > self.limits.max_header_bytes:
            self._refusal = "request header fields too large"
        elif self._header_count > self.limits.max_headers:
            self._refusal = "too many request header fields"
        if self._refusal:
            raise _HeadRefused(self._refusal)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = 0
        self._cancel_head_deadline()
        self.gate.busy(self)
        if self._health_only:  # uvicorn's own cap check then answers 503
            self.limit_concurrency = None if self.url.split(b"?")[0] == HEALTH_PATH else 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # kept open, waiting for a request
            self.gate.idle(self)
            self._start_head_deadline()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
            return
        body = self._refusal.encode()
        self.transport.write(b"".join([
            STATUS_LINE[431], b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body), b"connection: close\r\n\r\n", body]))
        self._linger()

    def _linger(self) -> None:
        """Close after the answer, but read (and drop) what the client still sends for up
        to LINGER seconds first: closing a socket with unread input sends a reset, which
        can destroy the 431 before the client reads it (nginx's lingering close)."""
        self._cancel_head_deadline()
        self.gate.idle(self)  # the first to go if room is needed
        self._lingering = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()

    def _start_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.limits.header_timeout,
                                                   self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._reading_head and not self.transport.is_closing():
            self.transport.close()


def protocol_for(limits: Limits) -> type[GuardedProtocol]:
    """A protocol class for one server: its limits, and one gate shared by its connections
    (uvicorn makes each connection's protocol from the class and its config alone)."""
    attributes = {"limits": limits, "gate": Gate(connection_cap(limits))}
    return cast(type[GuardedProtocol], type("GuardedProtocol", (GuardedProtocol,), attributes))
