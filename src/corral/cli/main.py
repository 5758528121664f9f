"""``corral``: the command line. Errors become one line on stderr and an exit code from
the table below, never a traceback."""

from __future__ import annotations

import sys

import typer

from corral import errors
from corral.cli import (
    cancel,
    delete,
    demo,
    enqueue,
    jobs,
    overview,
    queues,
    recover,
    render,
    run_now,
    selection,
    serve,
    watch,
    worker,
)
from corral.store import open_store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4
EXIT_CODES: dict[type[errors.CorralError], int] = {
    errors.ConfigError: EXIT_USAGE,
    errors.InvalidArguments: EXIT_USAGE,
    errors.UnknownTask: EXIT_USAGE,
    errors.InvalidJobId: EXIT_USAGE,
    errors.JobNotFound: EXIT_NOT_FOUND,
    errors.AmbiguousId: EXIT_CONFLICT,
    errors.JobAlreadyFinished: EXIT_CONFLICT,
    errors.JobNotRestartable: EXIT_CONFLICT,
    errors.JobNotScheduled: EXIT_CONFLICT,
    errors.BatchNotFound: EXIT_NOT_FOUND,
    errors.JobActive: EXIT_CONFLICT,
    errors.StoreError: EXIT_ERROR,
    selection.Refused: EXIT_CONFLICT,
    watch.NotCompleted: EXIT_ERROR,
}

cli = typer.Typer(
    name="corral", no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode="markdown",
    help="Background jobs you can see, stop and recover.",
)
cli.command()(worker.worker)
cli.command()(serve.serve)
cli.command()(enqueue.enqueue)
cli.add_typer(jobs.jobs)
cli.command()(watch.watch)
cli.command()(cancel.cancel)
cli.command()(recover.restart)
cli.command("reset-stuck")(recover.reset_stuck)
cli.command("run-now")(run_now.run_now)
cli.command()(delete.delete)
cli.add_typer(queues.queues)
cli.command()(overview.stats)
cli.command()(overview.workers)
cli.command()(demo.demo)


@cli.command()
def migrate(
    db: str = typer.Option("sqlite:///corral.db", "--db", envvar="CORRAL_DATABASE_URL",
                           help="Database URL."),
) -> None:
    """Create or upgrade the schema."""
    store = open_store(db)
    try:
        version = store.migrate()
    finally:
        store.close()
    render.info(f"schema at version {version}: {db}")


def exit_code(exc: errors.CorralError) -> int:
    for kind in type(exc).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_ERROR


def main() -> None:
    """Run the CLI; Typer handles usage errors (exit 2), corral errors map to EXIT_CODES."""
    try:
        cli()
    except errors.CorralError as exc:
        render.error(exc.message)
        sys.exit(exit_code(exc))
