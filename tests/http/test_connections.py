"""What one client can hold of the server (issue 14, item 5): idle and slow connections are
closed, oversized heads are refused with a 431, and past the connection cap (or with the
open-files limit nearly used up) /healthz still answers and the log stays small."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import corral
from corral.http import background, create_app
from corral.http.connections import Limits
from tests import workerapp
from tests.http.serving import wait_answering
from tests.http.test_serve import REPO, free_port

FAST = Limits(keep_alive_timeout=0.5, header_timeout=1.5)
HEALTHZ = b"GET /api/v1/healthz HTTP/1.1\r\nHost: test\r\n\r\n"


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[corral.Corral]:
    """The limits do not depend on the store: SQLite only."""
    client = corral.Corral(f"sqlite:///{tmp_path / 'corral.db'}")
    yield client
    client.close()


def address(root: str) -> tuple[str, int]:
    host, port = root.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def answer(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def closed_by_server(sock: socket.socket, timeout: float) -> float:
    """Seconds until the server closes ``sock`` (its response, if any, read first)."""
    started = time.monotonic()
    answer(sock, timeout)
    return time.monotonic() - started


@pytest.mark.parametrize("head", [
    b"GET /api/v1/healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
    b"GET /api/v1/healthz HTTP/1.1\r\nHost: test\r\n"
    + b"".join(b"X-Field-%d: y\r\n" % i for i in range(2000)) + b"\r\n",
], ids=["1MB-header", "2000-headers"])
def test_an_oversized_request_head_is_refused_with_431(sqlite_app: corral.Corral,
                                                       head: bytes) -> None:
    with background.serving(create_app(sqlite_app)) as root:
        with socket.create_connection(address(root)) as sock:
            sock.sendall(head)
            assert answer(sock).startswith(b"HTTP/1.1 431 ")
        assert httpx.get(f"{root}/api/v1/healthz").status_code == 200


def test_a_head_within_the_limits_is_served(sqlite_app: corral.Corral) -> None:
    headers = {f"x-field-{i}": "v" * 100 for i in range(60)}  # 60 fields, ~7 KB
    with background.serving(create_app(sqlite_app)) as root:
        assert httpx.get(f"{root}/api/v1/healthz", headers=headers).status_code == 200


def test_a_big_body_on_a_kept_alive_connection_is_not_taken_for_a_big_head(
        sqlite_app: corral.Corral) -> None:
    workerapp.register(sqlite_app)
    with background.serving(create_app(sqlite_app)) as root, httpx.Client(timeout=30) as client:
        for size in (2_000_000, 200_000, 200_000):  # the bytes after a head are no head
            answer = client.post(f"{root}/api/v1/jobs", json={"task": "noop",
                                                              "args": ["x" * size]})
            assert answer.status_code == 201
            assert client.get(f"{root}/api/v1/healthz").status_code == 200


def test_idle_keep_alive_connections_are_closed_after_the_timeout(
        sqlite_app: corral.Corral) -> None:
    with background.serving(create_app(sqlite_app), limits=FAST) as root:
        with socket.create_connection(address(root)) as sock:
            sock.sendall(HEALTHZ)
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")  # kept alive after it
            waited = closed_by_server(sock, timeout=10)
        assert FAST.keep_alive_timeout - 0.2 < waited < FAST.keep_alive_timeout + 3


def test_a_connection_that_never_sends_is_closed_after_the_timeout(
        sqlite_app: corral.Corral) -> None:
    with background.serving(create_app(sqlite_app), limits=FAST) as root, \
            socket.create_connection(address(root)) as sock:
        assert closed_by_server(sock, timeout=10) < FAST.keep_alive_timeout + 3


def test_a_request_head_sent_a_field_at_a_time_is_cut_off(sqlite_app: corral.Corral) -> None:
    """Slowloris: each field in time for the idle timeout, the whole head not in time."""
    with background.serving(create_app(sqlite_app), limits=FAST) as root, \
            socket.create_connection(address(root)) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /api/v1/healthz HTTP/1.1\r\n")
        deadline = started + 10
        sock.settimeout(0.2)
        with pytest.raises(OSError):  # EOF, a reset or a broken pipe: closed
            while time.monotonic() < deadline:
                sock.sendall(b"X-Slow: 1\r\n")
                try:
                    if sock.recv(1) == b"":
                        raise ConnectionResetError("closed by the server")
                except TimeoutError:
                    continue
        assert time.monotonic() - started < FAST.header_timeout + 3


def test_over_the_cap_the_longest_idle_goes_and_busy_streams_leave_room_for_healthz(
        sqlite_app: corral.Corral) -> None:
    """Cap 4: ten idle sockets do not keep a request out (the oldest idle are closed); four
    open event streams (busy, never closed for room) leave /healthz answering, while any
    other request over the cap gets a 503."""
    limits = Limits(max_connections=4, keep_alive_timeout=60, header_timeout=60)
    with background.serving(create_app(sqlite_app), limits=limits) as root:
        idle = [socket.create_connection(address(root)) for _ in range(10)]
        try:
            assert httpx.get(f"{root}/api/v1/stats", timeout=5).status_code == 200
            assert closed_by_server(idle[0], timeout=5) < 5  # the oldest made room
        finally:
            for sock in idle:
                sock.close()
        with httpx.Client(timeout=10) as streams, contextlib.ExitStack() as held:
            opened = [held.enter_context(streams.stream("GET", f"{root}/api/v1/events/stream"))
                      for _ in range(4)]
            assert all(response.status_code == 200 for response in opened)
            assert httpx.get(f"{root}/api/v1/healthz", timeout=5).status_code == 200
            assert httpx.get(f"{root}/api/v1/stats", timeout=5).status_code == 503


def test_a_request_that_arrived_is_not_closed_as_idle_to_make_room(
        sqlite_app: corral.Corral) -> None:
    """A burst of connections reaches the server while it is busy: one of them has sent its
    request, and the others, behind it, each need room. It is admitted first, so it is the
    oldest "idle" one when room runs out, but its request is there: it is answered, not
    reset (a /healthz probe was once reset this way in the 1,100-sockets test)."""
    limits = Limits(max_connections=4, keep_alive_timeout=60, header_timeout=60)
    api = create_app(sqlite_app)
    held, release = threading.Event(), threading.Event()

    async def hold_the_loop() -> dict[str, bool]:  # blocks the server's one event loop
        held.set()
        return {"released": release.wait(10)}

    api.add_api_route("/hold", hold_the_loop)
    with background.serving(api, limits=limits) as root:
        idle = [socket.create_connection(address(root)) for _ in range(3)]
        holder = socket.create_connection(address(root))
        holder.sendall(b"GET /hold HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        assert held.wait(10)
        probe = socket.create_connection(address(root))
        probe.sendall(HEALTHZ.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        behind = [socket.create_connection(address(root)) for _ in range(4)]
        try:
            release.set()
            assert answer(probe).startswith(b"HTTP/1.1 200"), "the probe was closed"
            assert b'"released":true' in answer(holder)
        finally:
            for sock in [*idle, holder, probe, *behind]:
                sock.close()


def _open_files_for(count: int) -> None:
    """Let this test process hold ``count`` sockets (CI's soft limit may be 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        if hard != resource.RLIM_INFINITY and hard < count:
            pytest.fail(f"this test needs {count} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


def _server_with_1024_files(tmp_path: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``corral serve`` limited to 1,024 open files, with timeouts long enough that only
    the connection cap can keep it answering; stdout and stderr go to ``log``."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_ADMIN_TOKEN": "",
           "CORRAL_READ_TOKEN": ""}
    env.pop("CORRAL_DATABASE_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "serve", "--app", "tests.workerapp:app",
             "--db", f"sqlite:///{tmp_path / 'corral.db'}", "--port", str(port),
             "--log-level", "info", "--keep-alive-timeout", "120s", "--header-timeout", "120s"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)))
    root = f"http://127.0.0.1:{port}"

    wait_answering(process, f"{root}/api/v1")
    assert process.poll() is None, log.read_text()
    return process, root


def _healthz_seconds(root: str) -> float:
    started = time.monotonic()
    assert httpx.get(f"{root}/api/v1/healthz", timeout=10).status_code == 200
    return time.monotonic() - started


@pytest.mark.slow
def test_1100_idle_sockets_against_1024_open_files_leave_healthz_answering(
        tmp_path: Path) -> None:
    """The report of issue 14: 1,100 sockets that never send, against a server allowed
    1,024 files, locked every client out for 17 s+ and logged 382 MB in 40 s. Now the
    server keeps at most 864 of them (closing the longest idle to make room), so a fresh
    client's /healthz answers at once; timeouts are set long so that only the cap helps."""
    _open_files_for(1400)
    log = tmp_path / "serve.log"
    process, root = _server_with_1024_files(tmp_path, log)
    held: list[socket.socket] = []
    try:
        for _ in range(1100):
            held.append(socket.create_connection(address(root), timeout=10))
        # while they are held: a fresh client is answered at once, again and again
        probes = [_healthz_seconds(root) for _ in range(10)]
        assert max(probes) < 2.0, probes
        stats = httpx.get(f"{root}/api/v1/stats", timeout=10)
        assert stats.status_code == 200
        # a second wave of 1,100 does not change it, and the log stays small
        for sock in held:
            sock.close()
        held = [socket.create_connection(address(root), timeout=10) for _ in range(1100)]
        assert _healthz_seconds(root) < 2.0
    finally:
        for sock in held:
            sock.close()
        process.terminate()
        process.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert log.stat().st_size < 64 * 1024, text[-4000:]
    assert text.count("Traceback") <= 3, text[-4000:]
