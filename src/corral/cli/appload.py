"""Import the user's app from ``module:attribute`` (the ``--app`` option)."""

from __future__ import annotations

import importlib
import os
import sys

from corral import errors
from corral.app import Corral


def load_app(spec: str, database_url: str | None = None) -> Corral:
    """The ``Corral`` at ``module:attribute``; the current directory is importable, and
    ``--db`` (when given) is set before import so the app picks it up."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise errors.ConfigError(f"--app must look like module:attribute, got {spec!r}")
    if database_url:
        os.environ["CORRAL_DATABASE_URL"] = database_url
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise errors.ConfigError(f"cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attribute, None)
    if not isinstance(app, Corral):
        raise errors.ConfigError(f"{spec!r} is not a corral.Corral app")
    if database_url and app.settings.database_url != database_url:
        raise errors.ConfigError(
            f"the app at {spec!r} names its database explicitly "
            f"({app.settings.database_url}); --db cannot override it"
        )
    return app
