"""``--meta KEY=VALUE``, ``--newer-than`` and ``reset-stuck --dry-run`` through the real
console script on both stores (issue 15 items 7, 9)."""

from __future__ import annotations

import json

from corral import ids
from corral.status import JobStatus
from corral.store import Store
from tests.cli.conftest import Run, one_error_line
from tests.corrupt import execute
from tests.factories import make_job, new_job, register_worker

S = JobStatus


def labelled(store: Store, **meta: object) -> str:
    (job,) = store.enqueue_jobs([new_job(meta=meta)])  # type: ignore[arg-type]
    return job.id


def status(store: Store, job_id: str) -> JobStatus:
    job = store.get_job(job_id)
    assert job is not None
    return job.status


def test_cancel_all_by_meta_cancels_that_crawl_only(store: Store, corral_cli: Run) -> None:
    crawl = sorted(labelled(store, crawl_job_id=5) for _ in range(2))
    text = labelled(store, crawl_job_id="5")
    other = labelled(store, crawl_job_id=6)

    preview = corral_cli("cancel", "--all", "--meta", "crawl_job_id=5", "--dry-run", "--json")
    assert preview.returncode == 0, preview.stderr
    assert sorted(json.loads(preview.stdout)["job_ids"]) == crawl
    assert {status(store, job_id) for job_id in crawl} == {S.QUEUED}

    result = corral_cli("cancel", "--all", "--meta", "crawl_job_id=5", "--yes")
    assert result.returncode == 0, result.stderr
    assert {status(store, job_id) for job_id in crawl} == {S.CANCELLED}
    assert status(store, text) == status(store, other) == S.QUEUED

    quoted = corral_cli("cancel", "--all", "--meta", 'crawl_job_id="5"', "--yes", "--json")
    assert json.loads(quoted.stdout)["job_ids"] == [text]  # quoted: the string "5"
    assert status(store, other) == S.QUEUED

    restarted = corral_cli("restart", "--meta", "crawl_job_id=5", "--yes", "--json")
    assert sorted(json.loads(restarted.stdout)["job_ids"]) == crawl
    corral_cli("cancel", "--meta", "crawl_job_id=5", "--yes")
    deleted = corral_cli("delete", "--meta", "crawl_job_id=5", "--yes", "--json")
    assert sorted(json.loads(deleted.stdout)["job_ids"]) == crawl
    assert store.get_job(crawl[0]) is None and status(store, other) == S.QUEUED


AN_HOUR_EARLIER = {  # straight to the database: a job made an hour ago, without the wait
    "sqlite": "UPDATE jobs SET created_at = created_at - 3600 WHERE id = :id",
    "postgresql": "UPDATE jobs SET created_at = created_at - interval '1 hour' "
                  "WHERE id = %(id)s",
}


def test_jobs_list_by_meta_and_age(store: Store, corral_cli: Run, db_url: str) -> None:
    old = labelled(store, client="Datadog", tier=1)
    execute(db_url, AN_HOUR_EARLIER[db_url.split(":", 1)[0]], {"id": old})
    new = labelled(store, client="Datadog", tier=2)
    labelled(store, client="Acme")

    def listed(*options: str) -> list[str]:
        result = corral_cli("jobs", "list", *options, "--json")
        assert result.returncode == 0, result.stderr
        return [job["id"] for job in json.loads(result.stdout)]

    assert listed("--meta", "client=Datadog", "--newer-than", "30m") == [new]
    assert listed("--meta", "client=Datadog", "--older-than", "30m") == [old]
    assert listed("--meta", "client=Datadog") == [new, old]
    assert listed("--meta", "client=Datadog", "--meta", "tier=2") == [new]
    table = corral_cli("jobs", "list", "--meta", "client=Datadog")
    assert ids.short(new) in table.stdout and ids.short(old) in table.stdout


def test_a_malformed_meta_is_a_usage_error_that_changes_nothing(
    store: Store, corral_cli: Run
) -> None:
    job = labelled(store, crawl_job_id=5)
    for given in ("crawl_job_id", "=5", " =5"):
        for command in (("cancel", "--all", "--meta", given, "--yes"),
                        ("jobs", "list", "--meta", given)):
            result = corral_cli(*command)
            assert result.returncode == 2, (command, result.stdout, result.stderr)
            assert "KEY=VALUE" in one_error_line(result)
    twice = corral_cli("cancel", "--meta", "a=1", "--meta", "a=2", "--yes")
    assert twice.returncode == 2 and "given twice" in one_error_line(twice)
    nested = corral_cli("cancel", "--meta", "crawl_job_id=[5]", "--yes")
    assert nested.returncode == 2 and "crawl_job_id" in one_error_line(nested)
    assert status(store, job) == S.QUEUED


def test_reset_stuck_dry_run_lists_the_jobs_and_changes_nothing(
    store: Store, corral_cli: Run
) -> None:
    register_worker(store, "alive")
    on_live = make_job(store, S.RUNNING, worker="alive")
    on_dead = make_job(store, S.RUNNING, worker="dead", dead_worker=True, max_attempts=5)
    trails = {job.id: store.job_events(job.id) for job in (on_live, on_dead)}

    as_json = corral_cli("reset-stuck", "--older-than", "0s", "--dry-run", "--json")
    assert as_json.returncode == 0, as_json.stderr
    found = json.loads(as_json.stdout)
    assert found["dry_run"] is True and found["reset_count"] == 2
    assert found["failed"] == [on_dead.id] and found["cancelled"] == [on_live.id]

    text = corral_cli("reset-stuck", "--older-than", "0s", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert f"{ids.short(on_dead.id)}  noop  running  would fail (worker dead)" in text.stdout
    assert f"{ids.short(on_live.id)}  noop  running  would cancel" in text.stdout
    assert "nothing changed" in text.stdout

    for job_id, trail in trails.items():
        assert status(store, job_id) == S.RUNNING
        assert store.job_events(job_id) == trail
    assert {w.id: w.state for w in store.list_workers()} == {"alive": "running",
                                                             "dead": "running"}
