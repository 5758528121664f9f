"""Dagster on corral (DESIGN §12): ``CorralRunLauncher`` (one corral job per run) and the
worker's app, ``corral.contrib.dagster:app``::

    corral worker --app corral.contrib.dagster:app --queues dagster

``pip install 'corral[dagster]'``.
"""

from __future__ import annotations

from typing import Any

from corral.app import Corral
from corral.contrib.dagster import runs

app = Corral()  # CORRAL_DATABASE_URL, as every corral command
runs.register(app)

__all__ = ["CorralRunLauncher", "app"]


def __getattr__(name: str) -> Any:
    """``CorralRunLauncher`` loads Dagster's launcher classes on first use: a worker that
    only executes runs does not import them."""
    if name == "CorralRunLauncher":
        from corral.contrib.dagster.launcher import CorralRunLauncher
        return CorralRunLauncher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
