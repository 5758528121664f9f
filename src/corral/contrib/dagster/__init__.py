"""Dagster on corral (DESIGN §12): ``CorralRunLauncher`` (one corral job per run),
``corral_executor`` (one corral job per step) and the worker's app,
``corral.contrib.dagster:app``::

    corral worker --app corral.contrib.dagster:app --queues dagster

``pip install 'corral[dagster]'``.
"""

from __future__ import annotations

from typing import Any

from corral.app import Corral
from corral.contrib.dagster import runs

app = Corral()  # CORRAL_DATABASE_URL, as every corral command
runs.register(app)

__all__ = ["CorralRunLauncher", "app", "corral_executor"]


def __getattr__(name: str) -> Any:
    """``CorralRunLauncher`` and ``corral_executor`` load Dagster on first use: a worker
    that only supervises runs does not import it."""
    if name == "CorralRunLauncher":
        from corral.contrib.dagster.launcher import CorralRunLauncher
        return CorralRunLauncher
    if name == "corral_executor":
        from corral.contrib.dagster.executor import corral_executor
        return corral_executor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
