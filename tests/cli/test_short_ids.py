"""Short ids through the real ``corral`` CLI, on both stores: what a table shows is what a
command takes back (issue 15 item 2: the dashboard's ``3d29f6396dbb`` was "not found")."""

from __future__ import annotations

import json
import re

import corral
from corral import ids
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter, WorkerInfo
from tests.cli.conftest import Run, one_error_line
from tests.factories import WORKER, make_job
from tests.test_short_ids import same_millisecond

FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_show_takes_the_full_id_short_id_prefix_and_suffix(store: Store,
                                                           corral_cli: Run) -> None:
    job, _ = same_millisecond(store, 2)
    digits = job.id.replace("-", "")
    for given in (job.id, ids.short(job.id), digits[:22], digits[-7:]):
        result = corral_cli("jobs", "show", given, "--json")
        assert result.returncode == 0, (given, result.stderr)
        assert json.loads(result.stdout)["job"]["id"] == job.id


def test_cancel_restart_and_watch_take_the_short_id_a_table_shows(
        app: corral.Corral, store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.QUEUED, task="ticker")
    listed = corral_cli("jobs", "list")
    shown = listed.stdout.splitlines()[1].split()[0]  # the first row's id, as printed
    assert shown == ids.short(job.id)

    cancelled = corral_cli("cancel", shown, "--reason", "typed from the table")
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"{shown}  ticker  queued → cancelled" in cancelled.stdout
    watched = corral_cli("watch", shown)
    assert watched.returncode == 1 and f"job {shown} cancelled" in one_error_line(watched)
    restarted = corral_cli("restart", shown[-6:])
    assert restarted.returncode == 0, restarted.stderr
    assert app.get_job(job.id).status == JobStatus.QUEUED


def test_an_ambiguous_prefix_is_exit_4_with_the_candidates_and_changes_nothing(
        store: Store, corral_cli: Run) -> None:
    jobs = same_millisecond(store, 2)

    result = corral_cli("cancel", jobs[0].id[:13])

    assert result.returncode == 4
    line = one_error_line(result)
    assert "matches 2 jobs" in line
    assert all(ids.short(job.id) in line for job in jobs)
    assert [job.status for job in store.list_jobs(JobFilter(), limit=None)] == [
        JobStatus.QUEUED, JobStatus.QUEUED]


def test_too_short_or_not_hex_is_exit_2(store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.QUEUED)
    for command in (("jobs", "show", "3d29f"), ("cancel", ids.short(job.id)[:5]),
                    ("watch", "zz29f6396dbb"), ("restart", "not-an-id")):
        result = corral_cli(*command)
        assert result.returncode == 2, (command, result.stderr)
        assert "is not a job id" in one_error_line(result)
    assert [job.status for job in store.list_jobs(JobFilter(), limit=None)] == [
        JobStatus.QUEUED]


def test_every_table_shows_short_ids_never_full_ones(store: Store, corral_cli: Run) -> None:
    done = make_job(store, JobStatus.COMPLETED, task="noop")
    running = make_job(store, JobStatus.RUNNING, task="ticker")
    queued = make_job(store, JobStatus.QUEUED, task="noop")
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 4, "test"))

    outputs = {
        "jobs list": corral_cli("jobs", "list").stdout,
        "workers": corral_cli("workers").stdout,
        "cancel": corral_cli("cancel", ids.short(queued.id)).stdout,
        "delete dry run": corral_cli("delete", "--status", "completed", "--dry-run").stdout,
    }
    for name, text in outputs.items():
        assert not FULL_ID.search(text), (name, text)
    assert ids.short(running.id) in outputs["jobs list"]
    assert ids.short(queued.id) in outputs["jobs list"]
    assert ids.short(running.id) in outputs["workers"]
    assert ids.short(queued.id) in outputs["cancel"]
    assert ids.short(done.id) in outputs["delete dry run"]
