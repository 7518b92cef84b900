"""The emulator's configuration: one immutable `EmulatorConfig`, built once at the edge.

The emulator never reads the environment itself: `EmulatorConfig.from_env(os.environ)` is called
by `herald emulator` (or by whoever embeds the app) and the object is passed to `create_app()`.
Credentials left unset are generated: from a seeded RNG when `seed` is set (reproducible runs),
otherwise from `secrets`.

To add a setting: add a field with a default and a `_setting(...)` description, and (when it has
an environment twin) a parser in `_PARSERS`; `from_env` picks it up by name.
"""

from __future__ import annotations

import dataclasses
import random
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

ENV_PREFIX = "HERALD_EMULATOR_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8801
MAX_PORT = 65535
MAX_CALLBACK_RETRIES = 5  # Twilio's connection override `rc` accepts 0-5

ACCOUNT_SID_PATTERN = re.compile(r"^AC[0-9a-f]{32}$")
AUTH_TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class EmulatorConfigError(ValueError):
    """A configuration value that the emulator cannot use; the message says how to fix it."""


def _setting(default: Any, description: str) -> Any:
    return dataclasses.field(default=default, metadata={"description": description})


@dataclasses.dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """The effective configuration of one emulator instance."""

    account_sid: str = _setting("", "Main account SID (AC + 32 lowercase hex); random if unset.")
    auth_token: str = _setting("", "Main account auth token (32 lowercase hex); random if unset.")
    test_account_sid: str = _setting(
        "", "Test credentials' account SID (AC + 32 lowercase hex); random if unset."
    )
    test_auth_token: str = _setting("", "Test credentials' auth token (32 hex); random if unset.")
    host: str = _setting(DEFAULT_HOST, "Interface the emulator listens on.")
    port: int = _setting(DEFAULT_PORT, "TCP port the emulator listens on.")
    seed: int | None = _setting(
        None, "Seed for SIDs, tokens and secrets, so that a run can be reproduced."
    )
    friendly_name: str = _setting("Herald Emulator", "Friendly name of the main account.")
    delivery_step_seconds: float = _setting(
        0.02, "Seconds between a message's status steps (queued, sending, sent, delivered)."
    )
    throughput_enabled: bool = _setting(
        True,  # noqa: FBT003 - the default of a boolean setting
        "Hold messages to each sender's Twilio throughput (1 segment/s for a US long code).",
    )
    max_messages: int = _setting(
        100_000, "Messages kept in memory; past it the oldest finished ones are forgotten first."
    )
    callback_retries: int = _setting(
        1, "Retries of a failed status callback (0-5), as Twilio's rc."
    )
    callback_timeout_seconds: float = _setting(15.0, "Time limit of one status callback attempt.")
    callback_retry_backoff_seconds: float = _setting(
        0.0, "Pause before retrying a failed status callback."
    )
    webhook_log_size: int = _setting(10_000, "Webhook attempts kept for the control API.")

    def __post_init__(self) -> None:
        rng = random.Random(f"credentials:{self.seed}") if self.seed is not None else None  # noqa: S311 - reproducible test data, not secrets
        for name in ("account_sid", "test_account_sid"):
            if not getattr(self, name):
                object.__setattr__(self, name, "AC" + _hex(rng))
        for name in ("auth_token", "test_auth_token"):
            if not getattr(self, name):
                object.__setattr__(self, name, _hex(rng))
        self._validate()

    def _validate(self) -> None:
        for name in ("account_sid", "test_account_sid"):
            if not ACCOUNT_SID_PATTERN.match(getattr(self, name)):
                raise EmulatorConfigError(
                    f"{_env_name(name)} must be 'AC' followed by 32 lowercase hex digits "
                    f"(34 characters), got {getattr(self, name)!r}."
                )
        for name in ("auth_token", "test_auth_token"):
            if not AUTH_TOKEN_PATTERN.match(getattr(self, name)):
                raise EmulatorConfigError(
                    f"{_env_name(name)} must be 32 lowercase hex digits, "
                    f"got a value of {len(getattr(self, name))} characters."
                )
        if self.account_sid == self.test_account_sid:
            raise EmulatorConfigError(
                "HERALD_EMULATOR_TEST_ACCOUNT_SID must differ from HERALD_EMULATOR_ACCOUNT_SID: "
                "Twilio's test credentials belong to their own account SID."
            )
        if not 0 <= self.port <= MAX_PORT:
            raise EmulatorConfigError(
                f"HERALD_EMULATOR_PORT must be between 0 and {MAX_PORT}, got {self.port}."
            )
        if not self.host:
            raise EmulatorConfigError("HERALD_EMULATOR_HOST must not be empty.")
        self._validate_messaging()

    def _validate_messaging(self) -> None:
        for name in ("delivery_step_seconds", "callback_retry_backoff_seconds"):
            if getattr(self, name) < 0:
                raise EmulatorConfigError(f"{_env_name(name)} must be 0 or more seconds.")
        if self.callback_timeout_seconds <= 0:
            raise EmulatorConfigError("HERALD_EMULATOR_CALLBACK_TIMEOUT_SECONDS must be positive.")
        for name in ("max_messages", "webhook_log_size"):
            if getattr(self, name) < 1:
                raise EmulatorConfigError(f"{_env_name(name)} must be at least 1.")
        if not 0 <= self.callback_retries <= MAX_CALLBACK_RETRIES:
            raise EmulatorConfigError(
                f"HERALD_EMULATOR_CALLBACK_RETRIES must be between 0 and {MAX_CALLBACK_RETRIES}."
            )

    @property
    def base_url(self) -> str:
        """The URL clients use to reach the emulator (what replaces https://api.twilio.com)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> EmulatorConfig:
        """Build a config from `HERALD_EMULATOR_*` variables; non-None `overrides` win."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise EmulatorConfigError(f"Unknown emulator settings: {', '.join(sorted(unknown))}.")
        values: dict[str, Any] = {}
        for name in sorted(known):
            raw = environ.get(_env_name(name))
            if raw is not None and raw != "":
                parse = _PARSERS.get(name, _parse_str)
                values[name] = parse(_env_name(name), raw)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, value, description) for every setting, for `--help`-style listings."""
        return [
            (_env_name(field.name), str(getattr(self, field.name)), field.metadata["description"])
            for field in dataclasses.fields(self)
        ]


def _hex(rng: random.Random | None) -> str:
    if rng is None:
        return secrets.token_hex(16)
    return f"{rng.getrandbits(128):032x}"


def _env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse_str(_variable: str, raw: str) -> str:
    return raw


def _parse_int(variable: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise EmulatorConfigError(f"{variable} must be an integer, got {raw!r}.") from None


def _parse_float(variable: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise EmulatorConfigError(f"{variable} must be a number, got {raw!r}.") from None


def _parse_bool(variable: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise EmulatorConfigError(f"{variable} must be true or false, got {raw!r}.")


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "port": _parse_int,
    "seed": _parse_int,
    "delivery_step_seconds": _parse_float,
    "throughput_enabled": _parse_bool,
    "max_messages": _parse_int,
    "callback_retries": _parse_int,
    "callback_timeout_seconds": _parse_float,
    "callback_retry_backoff_seconds": _parse_float,
    "webhook_log_size": _parse_int,
}
