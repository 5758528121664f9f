"""Drive the real ``corral`` console script in a subprocess, on the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from corral.store import open_store
from tests.conftest import REPO

CORRAL = Path(sys.executable).with_name("corral")

Run = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(db_url: str | None, marks: Path) -> dict[str, str]:
    """The console script's environment: the test database (as CORRAL_DATABASE_URL, like a
    user's shell), wide unstyled output, the test tasks importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250", "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1", "CORRAL_TEST_MARKS": str(marks)}
    env.pop("CORRAL_DATABASE_URL", None)
    if db_url is not None:
        env["CORRAL_DATABASE_URL"] = db_url
    return env


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single readable line a failed command prints on stderr (never a traceback)."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def corral_cli(db_url: str, marks: Path) -> Run:
    """``corral_cli("jobs", "list", input="y\\n")``: run the command, return its result.
    The database exists, as it does wherever an operator runs these commands."""
    assert CORRAL.exists(), f"the console script is not installed at {CORRAL}"
    existing = open_store(db_url)
    existing.migrate()
    existing.close()

    def run(*args: str, input: str | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CORRAL), *args], capture_output=True, text=True, cwd=REPO,
                              env=cli_env(db_url, marks), input=input, timeout=timeout)

    return run
