"""Named tokens and who did it (DESIGN §8, issue 15 item 3), through a real ``corral
serve`` on both stores: the trail names the token (and the person an admin token acts
for), never the server process; the client address is in the event's data; secrets are
in neither the trail nor the server's log; a malformed tokens file stops the server at
start with one readable line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

import corral
from corral import errors
from corral.http import create_app
from corral.http.auth import Tokens, read_tokens_file
from corral.store.base import JobFilter
from tests.http.serving import serving, wait_answering
from tests.http.test_serve import corral as corral_process
from tests.http.test_serve import free_port

OPS, VIEWER, ENV_ADMIN = "ops-S3CRET-0p5", "viewer-S3CRET-v1", "env-S3CRET-ad"
SECRETS = (OPS, VIEWER, ENV_ADMIN)
TOKENS_FILE = f"""# corral tokens: name role secret
ops     admin  {OPS}

viewer  read   sha256:{hashlib.sha256(VIEWER.encode()).hexdigest()}
"""


def bearer(secret: str, **headers: str | bytes) -> dict[str, str | bytes]:
    return {"Authorization": f"Bearer {secret}", **headers}


def test_a_tokens_file_gives_named_admin_and_read_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(TOKENS_FILE)
    tokens = Tokens.of(admin=ENV_ADMIN, file=str(path))
    assert [(t.name, t.role) for t in tokens.named] == [
        ("admin", "admin"), ("ops", "admin"), ("viewer", "read")]
    assert tokens.match(OPS).name == "ops"  # type: ignore[union-attr]
    assert tokens.match(VIEWER).name == "viewer"  # type: ignore[union-attr]  # hashed
    assert tokens.match(ENV_ADMIN).name == "admin"  # type: ignore[union-attr]
    assert tokens.match(OPS[:-1]) is None and tokens.match("") is None
    assert set(tokens.secrets) == {OPS, ENV_ADMIN}  # a hashed secret is unknown here
    assert OPS not in repr(tokens) and "S3CRET" not in repr(tokens)


MALFORMED = {
    "bad role": (f"ops admin {OPS}\nbob superuser {VIEWER}\n", "line 2", "superuser"),
    "missing secret": ("# tokens\n\nops admin\n", "line 3", "secret is missing"),
    "duplicate name": (f"ops admin {OPS}\nops read {VIEWER}\n", "line 2",
                       "already given on line 1"),
    "bad hash": ("ops read sha256:abc\n", "line 1", "64 hex digits"),
    "spaces in a secret": (f"ops admin {OPS} more\n", "line 1", "no spaces"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_tokens_file_is_a_config_error_naming_the_line(tmp_path: Path,
                                                                   case: str) -> None:
    text, line, why = MALFORMED[case]
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(errors.ConfigError) as refused:
        read_tokens_file(str(path))
    assert line in refused.value.message and why in refused.value.message
    assert not any(secret in refused.value.message for secret in SECRETS)


@pytest.mark.parametrize("case", ["bad role", "missing secret", "duplicate name"])
def test_corral_serve_refuses_a_malformed_tokens_file_at_start(tmp_path: Path,
                                                               case: str) -> None:
    text, line, why = MALFORMED[case]
    path = tmp_path / "tokens"
    path.write_text(text)
    process = corral_process("serve", "--app", "tests.workerapp:app", "--db",
                             f"sqlite:///{tmp_path / 'corral.db'}", "--port", str(free_port()),
                             env={"CORRAL_TOKENS_FILE": str(path)})
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    text_err = err.decode()
    lines = text_err.strip().splitlines()
    assert "Traceback" not in text_err and len(lines) == 1, text_err
    assert str(path) in lines[0] and line in lines[0] and why in lines[0]
    assert not any(secret in text_err for secret in SECRETS)


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """``corral serve`` with a tokens file and CORRAL_ADMIN_TOKEN; its log is kept."""
    path = tmp_path / "tokens"
    path.write_text(TOKENS_FILE)
    port = free_port()
    process = corral_process("serve", "--app", "tests.workerapp:app", "--db", db_url,
                             "--port", str(port), "--tokens-file", str(path),
                             "--log-level", "debug", env={"CORRAL_ADMIN_TOKEN": ENV_ADMIN})
    base = f"http://127.0.0.1:{port}/api/v1"

    wait_answering(process, base)
    assert process.poll() is None, process.communicate()[1].decode()
    logs: list[str] = []

    def stop() -> str:
        """Stop the server (once) and return everything it logged."""
        if not logs:
            process.terminate()
            out, err = process.communicate(timeout=60)
            logs.append((out + err).decode(errors="replace"))
        return logs[0]

    yield SimpleNamespace(base=base, stop=stop)
    stop()


def enqueue(base: str, secret: str = OPS) -> str:
    response = httpx.post(f"{base}/jobs", json={"task": "noop"}, headers=bearer(secret))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def trail(base: str, job_id: str) -> list[dict[str, object]]:
    response = httpx.get(f"{base}/jobs/{job_id}/events", headers=bearer(VIEWER))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_the_trail_names_the_token_and_the_person_it_acts_for(
        server: SimpleNamespace, db_url: str) -> None:
    base = server.base
    by_ops = enqueue(base)
    cancelled = httpx.post(f"{base}/jobs/{by_ops}/cancel", json={"reason": "wrong"},
                           headers=bearer(OPS))
    assert cancelled.json()["cancelled_by"] == "http:ops"
    events = trail(base, by_ops)
    assert [(e["kind"], e["actor"]) for e in events] == [("enqueued", "http:ops"),
                                                         ("cancelled", "http:ops")]
    assert all(e["data"]["client"] == "127.0.0.1" for e in events)  # type: ignore[index]

    for_alice = enqueue(base)
    person = httpx.post(f"{base}/jobs/{for_alice}/cancel", headers=bearer(
        OPS, **{"X-Corral-Actor": "José Núñez <jose@example.com>".encode()}))
    assert person.json()["cancelled_by"] == "José Núñez <jose@example.com> via http:ops"

    by_env = enqueue(base, ENV_ADMIN)
    assert httpx.post(f"{base}/jobs/{by_env}/cancel", headers=bearer(ENV_ADMIN)
                      ).json()["cancelled_by"] == "http:admin"

    bulk = [enqueue(base) for _ in range(2)]
    assert httpx.post(f"{base}/jobs/cancel", json={"ids": bulk},
                      headers=bearer(OPS, **{"X-Corral-Actor": "bob"})).status_code == 200
    restarted = httpx.post(f"{base}/jobs/{bulk[0]}/restart", headers=bearer(OPS))
    assert restarted.status_code == 200
    batch = httpx.post(f"{base}/batches", json={"jobs": [{"task": "noop"}]},
                       headers=bearer(OPS)).json()
    httpx.post(f"{base}/batches/{batch['batch']['id']}/cancel", headers=bearer(ENV_ADMIN))

    assert [e["actor"] for e in trail(base, bulk[0])] == [
        "http:ops", "bob via http:ops", "http:ops"]
    assert [e["actor"] for e in trail(base, batch["job_ids"][0])] == [
        "http:ops", "http:admin"]

    app = corral.Corral(db_url)
    try:
        everything = json.dumps([[e.actor, e.data, e.reason] for job in app.store.list_jobs(
            JobFilter(), limit=None) for e in app.store.job_events(job.id)])
    finally:
        app.close()
    assert "root@" not in everything and "via http:" in everything
    assert not any(secret in everything for secret in SECRETS)  # nor in the trail


def test_a_read_token_cannot_write_and_the_header_is_checked(server: SimpleNamespace) -> None:
    base = server.base
    job_id = enqueue(base)
    refused = httpx.post(f"{base}/jobs/{job_id}/cancel", headers=bearer(VIEWER))
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert httpx.post(f"{base}/jobs", json={"task": "noop"},
                      headers=bearer(VIEWER)).status_code == 403
    read = httpx.get(f"{base}/jobs/{job_id}", headers=bearer(VIEWER, **{"X-Corral-Actor": "x"}))
    assert read.status_code == 200 and read.json()["status"] == "queued"
    assert httpx.get(f"{base}/jobs", headers=bearer("nobody")).status_code == 403
    assert httpx.get(f"{base}/jobs").status_code == 401

    for bad in ("a" * 201, "mallory\u202e".encode()):  # too long; a bidi override
        response = httpx.post(f"{base}/jobs/{job_id}/cancel",
                              headers=bearer(OPS, **{"X-Corral-Actor": bad}))
        assert response.status_code == 422 and response.json()["error"] == "InvalidActor"
    assert httpx.get(f"{base}/jobs/{job_id}", headers=bearer(OPS)).json()["status"] == "queued"


def test_no_secret_reaches_the_server_log(server: SimpleNamespace) -> None:
    base = server.base
    for secret in SECRETS:
        httpx.get(f"{base}/jobs?token={secret}")
        httpx.get(f"{base}/jobs/{secret}", headers=bearer(secret))
        httpx.post(f"{base}/jobs", json={"task": secret}, headers=bearer(secret))
    job_id = enqueue(base)
    assert httpx.delete(f"{base}/jobs/{job_id}", headers=bearer(OPS)).status_code == 409
    httpx.post(f"{base}/jobs/{job_id}/cancel", headers=bearer(OPS))
    assert httpx.delete(f"{base}/jobs/{job_id}", headers=bearer(OPS)).status_code == 204
    httpx.patch(f"{base}/queues/default", json={"paused": True},
                headers=bearer(OPS, **{"X-Corral-Actor": "carol"}))
    log = server.stop()
    assert f"job {job_id} deleted by http:ops" in log  # no trail left: the log says who
    assert "queue default paused by carol via http:ops" in log
    assert '"GET /api/v1/jobs?… HTTP/1.1" 401' in log  # access lines were written
    leaked = [line for line in log.splitlines() if any(s in line for s in SECRETS)]
    assert not leaked


def test_without_tokens_the_actor_is_anonymous_at_the_client_address(
        app: corral.Corral, tasks: SimpleNamespace) -> None:
    with serving(create_app(app)) as base:
        job = httpx.post(f"{base}/jobs", json={"task": "noop"}).json()
        cancelled = httpx.post(f"{base}/jobs/{job['id']}/cancel").json()
        for_bob = httpx.post(f"{base}/jobs", json={"task": "noop"}).json()
        person = httpx.post(f"{base}/jobs/{for_bob['id']}/cancel",
                            headers={"X-Corral-Actor": "bob"}).json()
    assert cancelled["cancelled_by"] == "http:anonymous@127.0.0.1"
    assert person["cancelled_by"] == "bob via http:anonymous@127.0.0.1"
    events = app.job_events(job["id"])
    assert [e.actor for e in events] == ["http:anonymous@127.0.0.1"] * 2
    assert all(e.data["client"] == "127.0.0.1" for e in events)


def test_python_and_cli_actions_keep_their_own_actor(app: corral.Corral,
                                                     tasks: SimpleNamespace) -> None:
    """REQUEST_DATA is the request's: a write outside any request has no client."""
    job = app.enqueue(tasks.noop.s()).job
    app.cancel(job.id, actor="ops@example")
    cancelled = app.job_events(job.id)[1]
    assert cancelled.actor == "ops@example" and "client" not in (cancelled.data or {})
