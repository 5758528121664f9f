"""Every setting, its default and its ``CORRAL_*`` variable, in one place.

A setting has one name everywhere: the keyword of ``Corral(...)``, the worker flag
(``--heartbeat-interval``) and the variable (``CORRAL_HEARTBEAT_INTERVAL``). Explicit
arguments win over the environment, which wins over the default.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from corral import errors

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
MAX_DURATION_DAYS = 365_000
"""The longest duration taken (about 1000 years): now plus or minus it is still a date
(years 1-9999), so a cutoff or a delay built from it never overflows."""


def parse_duration(value: str | float | int, *, name: str = "duration") -> float:
    """Seconds from ``15``, ``0.5``, ``"500ms"``, ``"30s"``, ``"10m"``, ``"2h"`` or ``"7d"``."""
    if isinstance(value, bool):
        raise errors.ConfigError(f"{name}: expected a duration, got {value!r}", setting=name)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise errors.ConfigError(
                f"{name}: {value!r} is not a duration (use 15, 0.5, 500ms, 30s, 10m, 2h or 7d)",
                setting=name,
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise errors.ConfigError(f"{name}: must be a finite, non-negative duration", setting=name)
    if seconds > MAX_DURATION_DAYS * 86400.0:
        raise errors.ConfigError(
            f"{name}: at most {MAX_DURATION_DAYS} days (about 1000 years)", setting=name)
    return seconds


def duration_seconds(value: str | float | int | timedelta, *, name: str) -> float:
    """``parse_duration``, also taking a ``timedelta`` (held to the same bounds)."""
    if isinstance(value, timedelta):
        return parse_duration(value.total_seconds(), name=name)
    return parse_duration(value, name=name)


DEFAULT_DATABASE_URL = "sqlite:///corral.db"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one app, worker or server."""

    database_url: str = DEFAULT_DATABASE_URL
    heartbeat_interval: float = 2.0
    lease: float = 10.0
    cancel_grace: float = 30.0
    shutdown_grace: float = 30.0
    keep_completed: float = 86400.0
    keep_failed: float = 7 * 86400.0
    admin_token: str | None = None
    read_token: str | None = None
    tokens_file: str | None = None
    """Named tokens (DESIGN §8): lines ``name role secret``, read by ``corral serve``."""

    @classmethod
    def resolve(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then ``CORRAL_*`` variables, then explicit non-None ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"CORRAL_{field.name.upper()}")
            if raw not in (None, ""):
                values[field.name] = raw
        for key, value in (overrides or {}).items():
            if key not in _FIELD_NAMES:
                raise errors.ConfigError(f"unknown setting {key!r}", setting=key)
            if value is not None:
                values[key] = value
        return cls(**{key: _coerce(key, value) for key, value in values.items()})

    def override(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (command-line flags over the app)."""
        for key in changes:
            if key not in _FIELD_NAMES:
                raise errors.ConfigError(f"unknown setting {key!r}", setting=key)
        return dataclasses.replace(self, **{
            key: _coerce(key, value) for key, value in changes.items() if value is not None
        })


_FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(Settings))
_DURATIONS = frozenset(
    {"heartbeat_interval", "lease", "cancel_grace", "shutdown_grace", "keep_completed",
     "keep_failed"}
)


def _coerce(name: str, value: Any) -> Any:
    if name in _DURATIONS:
        seconds = parse_duration(value, name=name)
        if name == "heartbeat_interval" and seconds <= 0:
            raise errors.ConfigError("heartbeat_interval must be positive", setting=name)
        return seconds
    return str(value)
