"""``corral.testing.isolated``: a user's module-level app, with the tasks it registered at
import, on a fresh store for one test and back on its own store after."""

from __future__ import annotations

from pathlib import Path

import corral
from corral.testing import drain, isolated


def test_an_app_runs_its_own_tasks_on_the_test_s_store_then_goes_back(tmp_path: Path) -> None:
    own_url = f"sqlite:///{tmp_path / 'own.db'}"
    app = corral.Corral(own_url)

    @app.task(name="double")
    def double(n: int) -> int:
        return n * 2

    kept = double.enqueue(1)  # on the app's own store: the test must not see it
    with isolated(app, f"sqlite:///{tmp_path / 'test.db'}") as same:
        assert same is app
        handle = double.enqueue(21)
        assert [(job.id, job.result) for job in drain(app)] == [(handle.id, 42)]
    assert app.settings.database_url == own_url
    assert [job.id for job in app.list_jobs()] == [kept.id]
    assert app.get_job(kept.id).status == "queued"
    app.close()
