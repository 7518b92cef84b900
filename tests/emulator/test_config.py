"""EmulatorConfig: generated credentials, environment twins, clear errors."""

from __future__ import annotations

import pytest

from herald.emulator.config import (
    ACCOUNT_SID_PATTERN,
    AUTH_TOKEN_PATTERN,
    EmulatorConfig,
    EmulatorConfigError,
)

SID = "AC" + "a" * 32
TOKEN = "b" * 32


def test_unset_credentials_are_generated_in_twilio_shape() -> None:
    """Without values, both credential pairs are random and well-formed."""
    config = EmulatorConfig()
    assert ACCOUNT_SID_PATTERN.match(config.account_sid)
    assert ACCOUNT_SID_PATTERN.match(config.test_account_sid)
    assert AUTH_TOKEN_PATTERN.match(config.auth_token)
    assert config.account_sid != EmulatorConfig().account_sid


def test_seed_reproduces_credentials() -> None:
    """The same seed gives the same generated credentials."""
    assert EmulatorConfig(seed=3) == EmulatorConfig(seed=3)
    assert EmulatorConfig(seed=3).account_sid != EmulatorConfig(seed=4).account_sid


def test_from_env_reads_the_twins() -> None:
    """Every HERALD_EMULATOR_* variable lands in its field."""
    config = EmulatorConfig.from_env(
        {
            "HERALD_EMULATOR_ACCOUNT_SID": SID,
            "HERALD_EMULATOR_AUTH_TOKEN": TOKEN,
            "HERALD_EMULATOR_TEST_ACCOUNT_SID": "AC" + "c" * 32,
            "HERALD_EMULATOR_TEST_AUTH_TOKEN": "d" * 32,
            "HERALD_EMULATOR_PORT": "9000",
            "HERALD_EMULATOR_SEED": "5",
        }
    )
    assert (config.account_sid, config.auth_token, config.port, config.seed) == (
        SID,
        TOKEN,
        9000,
        5,
    )
    assert (config.test_account_sid, config.test_auth_token) == ("AC" + "c" * 32, "d" * 32)


def test_overrides_win_over_environment() -> None:
    """A flag passed as an override beats the variable; None overrides are ignored."""
    environ = {"HERALD_EMULATOR_PORT": "9000", "HERALD_EMULATOR_HOST": "127.0.0.2"}
    config = EmulatorConfig.from_env(environ, port=9100, host=None)
    assert (config.port, config.host) == (9100, "127.0.0.2")
    assert config.base_url == "http://127.0.0.2:9100"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HERALD_EMULATOR_ACCOUNT_SID", "SK" + "a" * 32, "HERALD_EMULATOR_ACCOUNT_SID must be"),
        ("HERALD_EMULATOR_ACCOUNT_SID", "AC" + "A" * 32, "lowercase hex"),
        ("HERALD_EMULATOR_AUTH_TOKEN", "short", "HERALD_EMULATOR_AUTH_TOKEN must be"),
        ("HERALD_EMULATOR_PORT", "http", "HERALD_EMULATOR_PORT must be an integer"),
        ("HERALD_EMULATOR_PORT", "70000", "between 0 and 65535"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    """A malformed value is refused with a message naming the variable and the rule."""
    with pytest.raises(EmulatorConfigError, match=message):
        EmulatorConfig.from_env({variable: value})


def test_test_sid_must_differ_from_live_sid() -> None:
    """The test credentials have their own account SID."""
    with pytest.raises(EmulatorConfigError, match="must differ"):
        EmulatorConfig(account_sid=SID, test_account_sid=SID)


def test_unknown_override_is_refused() -> None:
    """A misspelt setting is an error, not silently ignored."""
    with pytest.raises(EmulatorConfigError, match="Unknown emulator settings: prot"):
        EmulatorConfig.from_env({}, prot=1)


def test_describe_lists_every_variable() -> None:
    """describe() names each setting's environment twin."""
    names = [row[0] for row in EmulatorConfig().describe()]
    assert "HERALD_EMULATOR_TEST_AUTH_TOKEN" in names
    assert "HERALD_EMULATOR_SEED" in names
