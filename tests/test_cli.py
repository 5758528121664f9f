"""The console script: commands that exist so far, and clean errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def corral(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corral", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=60)


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    result = corral("migrate", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 0, result.stderr
    assert "schema at version" in result.stdout
    assert (tmp_path / "x.db").exists()


def test_worker_with_a_bad_app_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    result = corral("worker", "--app", "no_such_module:app", "--db",
                    f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2
    assert "cannot import 'no_such_module'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_worker_app_must_be_module_colon_attribute(tmp_path: Path) -> None:
    result = corral("worker", "--app", "tests.workerapp", "--db",
                    f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2 and "module:attribute" in result.stderr


def test_unreachable_database_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = corral("migrate", "--db", f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert result.returncode == 1
    assert "cannot open SQLite database" in result.stderr and "Traceback" not in result.stderr


def test_bad_duration_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = corral("worker", "--app", "tests.workerapp:app", "--db",
                    f"sqlite:///{tmp_path / 'x.db'}", "--heartbeat-interval", "3x")
    assert result.returncode == 2 and "not a duration" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = corral("frobnicate")
    assert result.returncode == 2


def test_help_lists_the_commands() -> None:
    result = corral("--help")
    assert result.returncode == 0
    for command in ("worker", "demo", "migrate"):
        assert command in result.stdout


def test_migrate_creates_the_postgres_schema(db_url: str) -> None:
    result = corral("migrate", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "schema at version" in result.stdout


def test_unreachable_postgres_is_one_line_not_a_traceback() -> None:
    result = corral("migrate", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1, result.stderr
    assert "cannot connect to PostgreSQL" in result.stderr and "Traceback" not in result.stderr


def test_demo_serves_the_dashboard_while_a_ticker_is_cancelled(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "corral", "demo", "--once", "--port", "0", "--db",
         f"sqlite:///{tmp_path / 'demo.db'}"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    url = first.split("dashboard at ")[1].split()[0]
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert httpx.get(f"{url}api/v1/healthz", timeout=10).json()["status"] == "ok"
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "cancelled in phase 'digest'" in out and "partial result kept" in out


def test_demo_on_a_port_in_use_is_one_line_and_a_usage_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = corral("demo", "--once", "--port", str(taken.getsockname()[1]), "--db",
                        f"sqlite:///{tmp_path / 'demo.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Address already in use" in result.stderr
