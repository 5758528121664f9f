"""``corral enqueue``: run a registered task from the terminal."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from corral import errors
from corral.cli import appload, render
from corral.cli.session import AsJson


def parse_args(text: str | None, kwargs_text: str | None) -> tuple[list[Any], dict[str, Any]]:
    """``ARGS`` is JSON: a list (positional arguments), an object (keyword arguments) or
    one value (the only positional argument); ``--kwargs`` is a JSON object."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if text is not None:
        value = _json(text, "ARGS")
        if isinstance(value, list):
            args = value
        elif isinstance(value, dict):
            kwargs = value
        else:
            args = [value]
    if kwargs_text is not None:
        extra = _json(kwargs_text, "--kwargs")
        if not isinstance(extra, dict):
            raise errors.InvalidArguments("--kwargs must be a JSON object, like '{\"n\": 3}'")
        kwargs.update(extra)
    return args, kwargs


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.InvalidArguments(
            f"{name} is not valid JSON ({exc.msg} at character {exc.pos}); a string needs "
            f"quotes: '\"RY.TO\"', a list: '[1, 2]', keywords: '{{\"n\": 3}}'") from None


def enqueue(
    task: Annotated[str, typer.Argument(help="The registered task name.")],
    args: Annotated[str | None, typer.Argument(
        help="JSON: [positional, args], {\"keyword\": args}, or one value.",
        show_default=False)] = None,
    app: Annotated[str, typer.Option(
        "--app", envvar="CORRAL_APP", help="The app that registers the task, module:attribute.")
    ] = "",
    kwargs: Annotated[str | None, typer.Option("--kwargs", help="Keyword args, JSON object.")
                      ] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Instead of the task's.")
                     ] = None,
    priority: Annotated[int | None, typer.Option("--priority", help="Higher runs first.")
                        ] = None,
    delay: Annotated[str | None, typer.Option("--delay", help="Not before this long (5m).")
                     ] = None,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="CORRAL_DATABASE_URL", help="Database URL (default: the app's).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Enqueue one job of a registered task (its arguments are checked as JSON).

    corral enqueue --app myapp:app reports.build '["acme"]' --queue reports
    """
    if not app:
        raise errors.ConfigError("enqueue needs --app module:attribute (or CORRAL_APP) to "
                                 "know the task")
    positional, keywords = parse_args(args, kwargs)
    corral_app = appload.load_app(app, db)
    try:
        signature = corral_app.get_task(task).s(*positional, **keywords).set(
            queue=queue, priority=priority, delay=delay)
        job = corral_app.enqueue(signature).job
    finally:
        corral_app.close()
    if as_json:
        render.json(job)
    else:
        render.enqueued(job)
