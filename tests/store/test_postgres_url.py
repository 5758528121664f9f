"""libpq's ``options`` in a PostgreSQL URL reach every session corral opens (the pool's
and the long-lived ones: listener, change feed, liveness lock): a deployment's own
settings (a statement timeout, the documented ``synchronous_commit`` opt-in) are not
silently dropped, and the ``schema`` parameter still sets ``search_path``."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row

from corral import errors
from corral.status import JobStatus
from corral.store import open_store
from corral.store.engine import Engine
from corral.store.postgres import connection
from corral.store.postgres.driver import PostgresDriver
from tests.factories import new_job


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_urls_options_reach_every_session(db_url: str) -> None:
    url = f"{db_url}&options={quote('-c statement_timeout=4321 -c synchronous_commit=off')}"
    store = open_store(url)
    try:
        store.migrate()
        assert isinstance(store, Engine) and isinstance(store.driver, PostgresDriver)
        (job,) = store.enqueue_jobs([new_job()])
        assert store.get_job(job.id).status == JobStatus.QUEUED  # type: ignore[union-attr]
        target = connection.parse(url)
        with store.driver.connection() as pooled, connection.connect(target) as own:
            for conn in (pooled, own):
                shown = conn.cursor(row_factory=tuple_row).execute(
                    "SELECT current_setting('statement_timeout'), "
                    "current_setting('synchronous_commit'), current_setting('search_path')"
                ).fetchone()
                assert shown == ("4321ms", "off", target.schema)
    finally:
        store.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_sessions_compile_no_query_unless_the_urls_options_ask(db_url: str) -> None:
    """JIT is off: a generic plan's guessed LIMIT made a claim cost enough for the server
    to compile it at every execution (12 ms of a 20 ms claim with 1,000,000 jobs queued).
    A URL's ``options`` may turn it back on."""
    for url, jit in ((db_url, "off"), (f"{db_url}&options={quote('-c jit=on')}", "on")):
        store = open_store(url)
        try:
            assert isinstance(store, Engine) and isinstance(store.driver, PostgresDriver)
            with store.driver.connection() as pooled, connection.connect(
                    connection.parse(url)) as own:
                for conn in (pooled, own):
                    assert conn.cursor(row_factory=tuple_row).execute(
                        "SELECT current_setting('jit')").fetchone() == (jit,)
        finally:
            store.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_option_the_server_refuses_is_named_at_open(db_url: str) -> None:
    with pytest.raises(errors.StoreError, match="no_such_setting"):
        open_store(f"{db_url}&options={quote('-c no_such_setting=1')}")


def test_libpq_reads_the_other_parameters_as_given() -> None:
    """A space in a value stays a space (urlencode's '+' reached libpq as a '+')."""
    target = connection.parse("postgresql://app@db/jobs?schema=s&sslmode=require"
                              f"&sslrootcert={quote('/etc/my certs/root.crt')}")
    assert conninfo_to_dict(target.conninfo) == {
        "user": "app", "host": "db", "dbname": "jobs", "sslmode": "require",
        "sslrootcert": "/etc/my certs/root.crt"}
