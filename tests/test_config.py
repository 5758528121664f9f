"""Settings: one name per setting, durations, environment versus explicit arguments."""

from __future__ import annotations

import pytest

from corral import config, errors


@pytest.mark.parametrize(("text", "seconds"), [
    ("15", 15.0), ("0.5", 0.5), (2, 2.0), ("500ms", 0.5), ("30s", 30.0), ("10m", 600.0),
    ("2h", 7200.0), ("7d", 604800.0), (" 3 s ", 3.0),
])
def test_durations(text: str | int, seconds: float) -> None:
    assert config.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["3x", "", "-1", "m", "1.2.3", True, float("nan"), -5])
def test_bad_durations_are_config_errors(bad: object) -> None:
    with pytest.raises(errors.ConfigError):
        config.parse_duration(bad)  # type: ignore[arg-type]


def test_environment_then_explicit_arguments_win() -> None:
    env = {"CORRAL_HEARTBEAT_INTERVAL": "500ms", "CORRAL_LEASE": "20",
           "CORRAL_DATABASE_URL": "sqlite:///env.db"}
    settings = config.Settings.resolve({"lease": "1m"}, environ=env)
    assert settings.heartbeat_interval == 0.5
    assert settings.lease == 60.0
    assert settings.database_url == "sqlite:///env.db"
    assert config.Settings.resolve(environ={}).database_url == "sqlite:///corral.db"


def test_unknown_or_invalid_settings_are_refused() -> None:
    with pytest.raises(errors.ConfigError):
        config.Settings.resolve({"heartbeat": 1}, environ={})
    with pytest.raises(errors.ConfigError):
        config.Settings.resolve({"heartbeat_interval": 0}, environ={})
    with pytest.raises(errors.ConfigError):
        config.Settings.resolve(environ={"CORRAL_CANCEL_GRACE": "soon"})
