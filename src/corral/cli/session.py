"""What every store command shares: the ``--db`` and ``--json`` options, and the app it
works on (opened on the store directly: no server, no task registry needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from corral import config, errors
from corral.app import Corral
from corral.cli import render

T = TypeVar("T")

Db = Annotated[str, typer.Option(
    "--db", envvar="CORRAL_DATABASE_URL", help="Database URL (or CORRAL_DATABASE_URL).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
JOB_ID_HELP = ("Job id: the full id, the short id (last 12 digits) or a unique prefix or "
               "suffix (6+ digits).")
JobId = Annotated[str, typer.Argument(help=JOB_ID_HELP)]
DEFAULT_DB = config.DEFAULT_DATABASE_URL


@contextmanager
def opened(db: str) -> Iterator[Corral]:
    """A ``Corral`` on ``db``; its store opens (and migrates) on first use, and closes at
    the end of the command. Actions are recorded as ``user@host`` in the audit trail.

    A SQLite file must already exist: an operator who mistypes the path, or runs the
    command from another folder than the app's relative ``sqlite:///corral.db``, would
    otherwise be shown an empty new database as if nothing had ever run."""
    if db.startswith("sqlite:///") and not Path(db.removeprefix("sqlite:///")).exists():
        raise errors.StoreError(
            f"no database at {db.removeprefix('sqlite:///')} (workers, `corral enqueue` and "
            "`corral migrate` create it; check --db or CORRAL_DATABASE_URL)", url=db)
    app = Corral(db)
    try:
        yield app
    finally:
        app.close()


def read(db: str, as_json: bool, fetch: Callable[[Corral], T], text: Callable[[T], None],
         data: Callable[[T], Any] = lambda value: value) -> None:
    """A read command: fetch from the store, print as text, or as JSON with ``--json``."""
    with opened(db) as app:
        value = fetch(app)
    if as_json:
        render.json(data(value))
    else:
        text(value)
