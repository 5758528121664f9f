"""No input may poison the store, through the console script on both stores (issue 14,
items 2-4): bad input is exit 2 with one readable line and stores nothing; a job whose row
cannot be read back (written by hand with SQL) is listed as failed/CorruptJob, the other
jobs stay listable and cancellable, and the corrupt one can be deleted."""

from __future__ import annotations

import json

from corral.status import JobStatus
from corral.store import Store, codec
from tests import corrupt
from tests.cli.conftest import Run, one_error_line
from tests.factories import new_job

APP = ("--app", "tests.workerapp:app")
DEEP = "[" * (codec.MAX_JSON_DEPTH + 1) + "]" * (codec.MAX_JSON_DEPTH + 1)


def test_bad_input_is_one_line_exit_2_and_stores_nothing(corral_cli: Run, db_url: str) -> None:
    for command in (
        ("enqueue", *APP, "noop", f"[{DEEP}]"),
        ("enqueue", *APP, "noop", '["\\ud800"]'),
        ("enqueue", *APP, "noop", '{"value": "a\\u0000b"}'),
        ("enqueue", *APP, "noop", "[NaN]"),
        ("enqueue", *APP, "noop", "--delay", "3000000d"),
        ("cancel", "--older-than", "3000000d", "--yes"),
        ("delete", "--older-than", "3000000d", "--yes"),
        ("restart", "--older-than", "3000000d", "--yes"),
        ("jobs", "list", "--older-than", "3000000d"),
        ("reset-stuck", "--older-than", "3000000d"),
    ):
        result = corral_cli(*command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert one_error_line(result), command
    assert corrupt.count_rows(db_url) == 0


def test_a_quarantined_job_is_listed_as_failed_and_can_be_deleted(
        store: Store, db_url: str, corral_cli: Run) -> None:
    good, bad = store.enqueue_jobs([new_job(), new_job()])
    corrupt.corrupt(db_url, bad.id, "created_at")

    listed = corral_cli("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    by_id = {job["id"]: job for job in json.loads(listed.stdout)}
    assert by_id[bad.id]["status"] == "failed"
    assert by_id[bad.id]["error"]["type"] == "CorruptJob"
    assert corral_cli("jobs", "list").returncode == 0
    assert corral_cli("jobs", "show", bad.id).returncode == 0
    cancelled = corral_cli("cancel", good.id)
    assert cancelled.returncode == 0, cancelled.stderr
    deleted = corral_cli("delete", bad.id)
    assert deleted.returncode == 0, deleted.stderr
    assert store.get_job(bad.id) is None
    still = store.get_job(good.id)
    assert still is not None and still.status == JobStatus.CANCELLED
