"""``pytest -p corral.testing``: users' own test files get ``corral_app`` and
``corral_worker``, checked by running pytest on such a file in a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USERS_TESTS = '''
import corral
from corral.testing import drain, run


def test_tasks_registered_on_corral_app_run_inline_and_drain(corral_app):
    @corral_app.task(name="double")
    def double(n: int) -> int:
        return n * 2

    assert run(double, 21).result == 42
    double.enqueue(2)
    assert [job.result for job in drain(corral_app)] == [4]


def test_corral_worker_runs_tasks_registered_in_the_test(corral_app, corral_worker):
    @corral_app.task(name="hello")
    def hello(name: str) -> str:
        return f"hello {name}"

    assert corral_worker.app is corral_app
    assert hello.enqueue("you").wait(timeout=20).result == "hello you"


def test_each_test_gets_a_fresh_store(corral_app):
    assert corral_app.list_jobs() == []
    assert corral_app.store.url.startswith("sqlite:")
'''


def test_the_plugin_gives_users_tests_an_app_and_a_worker(tmp_path: Path) -> None:
    path = tmp_path / "test_users_tasks.py"
    path.write_text(USERS_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "corral.testing", "-p", "no:cacheprovider",
         "-q", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_without_the_plugin_the_fixtures_are_not_there(tmp_path: Path) -> None:
    path = tmp_path / "test_users_tasks.py"
    path.write_text(USERS_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0 and "fixture 'corral_app' not found" in done.stdout
