"""The change feed a server reads to push job changes to watchers, on both stores."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import psycopg

from corral.store import Store
from corral.store.base import JobFilter
from tests.factories import new_job


def test_feed_reports_inserts_visible_changes_and_deletes_not_heartbeats(store: Store) -> None:
    feed = store.open_change_feed()
    try:
        assert feed.wait(0.05) == []
        [job] = store.enqueue_jobs([new_job()])
        assert feed.wait(5) == [job.id]
        store.heartbeat("nobody")  # touches no job a watcher sees
        store.cancel_jobs([job.id], actor="test", reason=None)
        assert feed.wait(5) == [job.id]
        store.delete_jobs([job.id])
        assert feed.wait(5) == [job.id]
    finally:
        feed.close()


def test_without_an_open_feed_writes_log_nothing(store: Store) -> None:
    feed = store.open_change_feed()
    feed.close()
    store.enqueue_jobs([new_job()])
    late = store.open_change_feed()
    try:
        assert late.wait(0.2) == []
    finally:
        late.close()


def test_a_hand_written_update_still_works_and_is_heard(store: Store) -> None:
    """Operators fix rows by hand (``UPDATE corral.jobs ...`` from psql, or the sqlite3
    shell): the change trigger must not break their statement (on PostgreSQL their session
    has its own search_path), and the feed still hears of it."""
    [job] = store.enqueue_jobs([new_job()])
    feed = store.open_change_feed()
    try:
        if store.url.startswith("postgresql"):
            schema = store.url.rsplit("schema=", 1)[1]
            with psycopg.connect(store.url.split("?")[0], autocommit=True) as conn:
                conn.execute(f"UPDATE {schema}.jobs SET status = 'cancelled' WHERE id = %s",
                             (job.id,))
        else:
            with sqlite3.connect(store.url.removeprefix("sqlite:///")) as conn:
                conn.execute("UPDATE jobs SET status = 'cancelled' WHERE id = ?", (job.id,))
        assert feed.wait(5) == [job.id]
        assert store.list_jobs(JobFilter(ids=(job.id,)))[0].status == "cancelled"
    finally:
        feed.close()


def test_a_sqlite_feed_is_rung_by_a_writer_in_another_process(sqlite_store: Store) -> None:
    """A writer that changed jobs rings every open feed's doorbell after its commit, and
    the feed then reads the change (it polls the change log only as a safety net)."""
    from corral.store.sqlite.changes import ChangeLogFeed
    from corral.store.sqlite.doorbell import Doorbell
    from corral.store.sqlite.driver import SQLiteDriver

    driver = sqlite_store.driver
    assert isinstance(driver, SQLiteDriver)
    feed = ChangeLogFeed(driver)
    bell = Doorbell()  # a second feed's doorbell, to see the ring itself
    driver.touch_change_feed("watcher", prune_upto=0, doorbell=bell.address)
    try:
        writer = subprocess.Popen([sys.executable, "-c", (
            "import sys; from corral.store import open_store; "
            "from tests.factories import new_job; "
            "s = open_store(sys.argv[1]); print(s.enqueue_jobs([new_job()])[0].id)"),
            driver.url], stdout=subprocess.PIPE, text=True)
        assert bell.wait(20), "no ring within 20 s"
        out, _ = writer.communicate(timeout=30)
        assert feed.wait(5) == [out.strip()]
    finally:
        bell.close()
        feed.close()
