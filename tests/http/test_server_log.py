"""Tokens never reach the log (issue 14, item 6), wherever a client puts them: headers,
query strings, bodies, paths; and the same error repeated does not flood it."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx

from corral.http import serverlog
from tests.http.test_serve import REPO, free_port
from tests.waiting import wait_until

ADMIN, READ, WRONG = "adm-S3CRET-a1", "read-S3CRET-r2", "wrong-S3CRET-w3"


def test_tokens_sent_every_way_are_absent_from_the_server_log(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CORRAL_ADMIN_TOKEN": ADMIN,
           "CORRAL_READ_TOKEN": READ}
    env.pop("CORRAL_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "corral", "serve", "--app", "tests.workerapp:app",
         "--db", f"sqlite:///{tmp_path / 'corral.db'}", "--port", str(port),
         "--with-worker", "--log-level", "debug"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_until(lambda: _answers(f"{api}/healthz") or process.poll() is not None,
                   timeout=30, message="the server to answer")
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{api}/jobs", headers=admin).status_code == 200
            assert client.get(f"{api}/jobs", headers={"X-Admin-Token": READ}).status_code == 200
            assert client.get(f"{api}/jobs", headers={"Authorization": f"Bearer {WRONG}"}
                              ).status_code == 403
            for token in (ADMIN, READ, WRONG):  # the mistake of item 6: refused, not logged
                assert client.get(f"{api}/jobs?token={token}").status_code == 401
                assert client.get(f"{api}/stats?access_token={token}&x={token}",
                                  headers=admin).status_code in (200, 422)
            assert client.get(f"{api}/jobs/{ADMIN}", headers=admin).status_code == 422  # not hex
            created = client.post(f"{api}/jobs", headers=admin,
                                  json={"task": "noop", "args": [ADMIN], "meta": {"t": READ}})
            assert created.status_code == 201
            assert client.post(f"{api}/jobs", headers=admin,
                               json={"task": ADMIN}).status_code == 422
            assert client.post(f"{api}/jobs", headers=admin, content=f'{{"task": "{READ}'
                               ).status_code == 422
            job = created.json()["id"]
            wait_until(lambda: client.get(f"{api}/jobs/{job}", headers=admin).json()[
                "status"] == "completed", message="the job to run")
    finally:
        process.terminate()
        log, _ = process.communicate(timeout=60)
    text = log.decode(errors="replace")
    assert '"GET /api/v1/jobs?… HTTP/1.1" 401' in text  # access lines were written
    for token in (ADMIN, READ, WRONG):
        assert token not in text


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _capture(name: str) -> tuple[logging.Logger, io.StringIO]:
    logger = logging.getLogger(name)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, out


def test_redact_cuts_secrets_out_of_messages_arguments_and_tracebacks() -> None:
    redact = serverlog.Redact()
    redact.add_secrets(["tok-123456"])
    logger, out = _capture("tests.redact")
    logger.handlers[0].addFilter(redact)
    logger.warning("header was %s", "Bearer tok-123456")
    try:
        raise ValueError("bad token tok-123456")
    except ValueError:
        logger.exception("failed with %(token)s", {"token": "tok-123456"})
    assert "tok-123456" not in out.getvalue()
    assert out.getvalue().count(serverlog.MASK) >= 3


def test_access_lines_lose_their_query_strings() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/api/v1/jobs?token=anything", "1.1", 401),
                               None)
    assert serverlog.Redact().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /api/v1/jobs?… HTTP/1.1" 401'


def test_the_same_error_is_logged_once_per_interval_then_counted() -> None:
    throttle = serverlog.Throttle(interval=60)
    logger, out = _capture("tests.throttle")
    logger.addFilter(throttle)
    for _ in range(2048):  # what asyncio logs per wake-up when accept() hits EMFILE
        logger.error("socket.accept() out of system resource\nsocket: <fd=3>")
    logger.error("another message")
    assert out.getvalue().count("socket.accept()") == 1
    assert "another message" in out.getvalue()
    throttle.interval = 0
    logger.error("socket.accept() out of system resource\nsocket: <fd=3>")
    assert "2047 more like this" in out.getvalue()
