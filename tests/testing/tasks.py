"""Tasks the tests of ``corral.testing`` share."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import corral


def loop_until_stopped(app: corral.Corral, marker: Path, name: str,
                       **options: Any) -> corral.Task:
    """Register a task that checkpoints in a loop until it is stopped; its ``finally``
    touches ``marker`` (what proves the task's cleanup ran)."""

    @app.task(name=name, **options)
    def loops(ctx: corral.Context) -> None:
        try:
            while True:
                ctx.checkpoint()
                time.sleep(0.01)
        finally:
            marker.touch()

    return loops
