"""Every StockDigest test gets its own job store and output folder; corral's worker
runs only when a test asks for it (``drain``, ``run``, ``worker``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import corral.testing
from examples.stockdigest.app import api
from examples.stockdigest.jobs import jobs

ALICE = {"Authorization": "Bearer alice-key"}  # an admin
BOB = {"Authorization": "Bearer bob-key"}  # a user, not an admin


@pytest.fixture(autouse=True)
def jobs_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store and output folder; yields the folder the digests are written to."""
    output = tmp_path / "digests"
    monkeypatch.setenv("STOCKDIGEST_OUTPUT", str(output))
    with corral.testing.isolated(jobs, f"sqlite:///{tmp_path / 'jobs.db'}"):
        yield output


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The service without its lifespan: no in-process worker; tests run jobs with
    ``corral.testing.drain`` when they want them run."""
    yield TestClient(api)
