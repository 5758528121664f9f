"""A TCP proxy on loopback that a test can break the way networks break: stop carrying
bytes while every socket stays open (a partition), or drop every connection and refuse new
ones (a crashed pgbouncer in front of a live server)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class Proxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` until told otherwise."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._carrying = True  # written by the test, read by the pumps
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def partition(self) -> None:
        """Bytes are swallowed both ways; no socket closes, so neither side notices."""
        self._carrying = False

    def crash(self) -> None:
        """Every connection is reset (the server ends their sessions) and new ones are
        refused."""
        self._carrying = False
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                    sock.close()

    def close(self) -> None:
        self.crash()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True,
                                 name="proxy-pump").start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self._carrying:
                    target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.close()
