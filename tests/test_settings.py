"""Settings are read once from HERALD_* variables, converted, validated and masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.errors import ConfigurationError
from herald.settings import Settings, mask_secret


def test_defaults_put_sqlite_in_the_home_directory() -> None:
    """With nothing set, the database is SQLite in HERALD_HOME and Herald is in sandbox."""
    settings = Settings.from_env({}, home=Path("/data"))
    assert settings.database_url == "sqlite:////data/herald.db"
    assert settings.sandbox
    assert settings.base_url == "http://127.0.0.1:8800"


def test_environment_values_are_converted_by_type() -> None:
    """Integers, floats, booleans, paths and lists come from their text form."""
    settings = Settings.from_env(
        {
            "HERALD_PORT": "9000",
            "HERALD_WORKER_LEASE_SECONDS": "12.5",
            "HERALD_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2",
            "HERALD_HOME": "/srv/herald",
        }
    )
    assert settings.port == 9000
    assert settings.worker_lease_seconds == 12.5
    assert settings.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert settings.home == Path("/srv/herald")


def test_flags_override_the_environment() -> None:
    """An override given by the CLI wins over the variable."""
    assert Settings.from_env({"HERALD_PORT": "9000"}, port=9100).port == 9100


def test_malformed_number_names_the_variable() -> None:
    """A port that is not a number is refused with the variable's name."""
    with pytest.raises(ConfigurationError, match="HERALD_PORT must be a whole number"):
        Settings.from_env({"HERALD_PORT": "eighty"})


def test_unsupported_database_scheme_is_refused() -> None:
    """A MySQL URL is refused, naming the supported forms."""
    with pytest.raises(ConfigurationError, match="sqlite:///PATH"):
        Settings.from_env({"HERALD_DATABASE_URL": "mysql://x"})


def test_twilio_credentials_come_in_pairs() -> None:
    """An account SID without its auth token is a configuration error."""
    with pytest.raises(ConfigurationError, match="both"):
        Settings.from_env({"HERALD_TWILIO_ACCOUNT_SID": "AC" + "0" * 32})


def test_idempotency_window_is_at_least_a_day() -> None:
    """Idempotency keys are promised for 24 hours, so a shorter window is refused."""
    with pytest.raises(ConfigurationError, match="at least 24"):
        Settings.from_env({"HERALD_IDEMPOTENCY_HOURS": "2"})


def test_describe_masks_secrets() -> None:
    """The auth token and the Redis password never appear in the description."""
    settings = Settings.from_env(
        {
            "HERALD_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "HERALD_TWILIO_AUTH_TOKEN": "f" * 32,
            "HERALD_REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0",
        }
    )
    shown = {name: value for name, value, _ in settings.describe()}
    assert "f" * 32 not in shown["HERALD_TWILIO_AUTH_TOKEN"]
    assert "hunter2" not in shown["HERALD_REDIS_URL"]
    assert not settings.sandbox


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("", ""),
        ("short", "••••••••"),
        ("abcdefghijklmnopqrstuvwxyz", "abcd••••••••"),
        ("redis://:pw@host:6379/0", "redis://:•••••@host:6379/0"),
    ],
)
def test_mask_secret(secret: str, shown: str) -> None:
    """Short secrets are fully hidden, long ones keep a recognisable prefix."""
    assert mask_secret(secret) == shown


def test_every_setting_is_documented() -> None:
    """docs/settings.md has a row for every HERALD_* variable."""
    docs = (Path(__file__).parents[1] / "docs" / "settings.md").read_text(encoding="utf-8")
    for variable, _, _ in Settings.from_env({}).describe():
        assert f"| `{variable}` |" in docs, f"{variable} is missing from docs/settings.md"


def test_database_pool_size_must_be_positive() -> None:
    """A pool of no connections could serve nothing: refused with the variable's name."""
    with pytest.raises(ConfigurationError, match="HERALD_DATABASE_POOL_SIZE must be at least 1"):
        Settings.from_env({"HERALD_DATABASE_POOL_SIZE": "0"})


@pytest.mark.parametrize("seconds", ["0", "-1"])
def test_http_read_timeout_must_be_positive(seconds: str) -> None:
    """A read timeout of zero would cut every request off."""
    with pytest.raises(ConfigurationError, match="HERALD_HTTP_READ_TIMEOUT_SECONDS"):
        Settings.from_env({"HERALD_HTTP_READ_TIMEOUT_SECONDS": seconds})
