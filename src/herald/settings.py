"""Herald's configuration: one immutable `Settings`, loaded once at the entry point.

Nothing in Herald reads the environment at import time. `Settings.from_env(os.environ)` is called
by the CLI (and by whoever embeds `create_app()`), then the object is passed down. Every field
has a `HERALD_*` twin; `docs/settings.md` lists them all, and `herald config` prints the
effective values with secrets masked.

To add a setting: add a field with `_setting(default, description)`; values from the
environment are converted by the field's type (str, int, float, bool, Path, tuple of str).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from herald.errors import ConfigurationError

ENV_PREFIX = "HERALD_"
_MIN_LEN_TO_SHOW_PREFIX = 16
_MIN_ADMIN_KEY_LENGTH = 16
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_PASSWORD_PARAMETER = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def _setting(default: Any, description: str, *, secret: bool = False) -> Any:
    return dataclasses.field(
        default=default, metadata={"description": description, "secret": secret}
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration of one Herald process."""

    home: Path = _setting(Path(".herald"), "Data directory: SQLite file and generated secrets.")
    database_url: str = _setting(
        "",
        "Database URL: sqlite:///PATH or postgresql://... (default: SQLite in HERALD_HOME).",
        secret=True,  # its password, shown masked
    )
    redis_url: str = _setting(
        "",
        "Redis URL for global rate limits and de-duplication (default: in-process).",
        secret=True,
    )
    public_url: str = _setting(
        "",
        "Public base URL of the gateway as Twilio sees it; webhook signatures are checked on it "
        "(default: http://HOST:PORT).",
    )
    host: str = _setting("127.0.0.1", "Interface the gateway listens on.")
    port: int = _setting(8800, "TCP port of the gateway (API, webhooks, admin).")
    emulator_port: int = _setting(8801, "TCP port of the in-process emulator in sandbox mode.")
    secret_key: str = _setting(
        "",
        "Key that encrypts provider secrets at rest (Fernet, urlsafe base64 of 32 bytes); "
        "generated into HERALD_HOME in sandbox mode.",
        secret=True,
    )
    admin_key: str = _setting(
        "",
        "Key that signs in to the admin pages at /admin (unset: the admin pages are off); "
        "generated into HERALD_HOME in sandbox mode.",
        secret=True,
    )
    twilio_account_sid: str = _setting(
        "", "Twilio account SID for the default tenant; unset means sandbox mode (the emulator)."
    )
    twilio_auth_token: str = _setting("", "Twilio auth token for the default tenant.", secret=True)
    twilio_base_url: str = _setting(
        "https://api.twilio.com", "Base URL of Twilio's REST API (the emulator's in sandbox)."
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (), "Comma-separated proxy addresses whose X-Forwarded-* headers are trusted."
    )
    database_pool_size: int = _setting(
        16,
        "PostgreSQL connections each Herald process keeps at most; keep the sum over all "
        "processes under the server's max_connections (SQLite ignores it).",
    )
    processes: int = _setting(
        1,
        "HTTP processes `herald serve` runs on its port, to use more cores; above 1 needs "
        "PostgreSQL and Twilio credentials. The worker runs in the first.",
    )
    api_key_cache_seconds: float = _setting(
        2.0,
        "How long an API process trusts an API key it found live before looking it up again; "
        "a key revoked elsewhere stops working within this time (0: look up every request).",
    )
    worker_lease_seconds: float = _setting(
        30.0, "How long a worker holds a claimed message before another may take it over."
    )
    worker_batch_size: int = _setting(20, "Messages a worker claims at once.")
    worker_poll_seconds: float = _setting(0.2, "Pause between claims when the outbox is empty.")
    send_max_attempts: int = _setting(
        10, "Attempts at handing a message to the provider before it is marked failed."
    )
    reconcile_after_seconds: float = _setting(
        600.0,
        "How long a handed-over message may sit in a non-final status (queued, sending, sent) "
        "before the worker fetches it from Twilio; 0 turns reconciliation off.",
    )
    reconcile_batch_size: int = _setting(
        100, "Messages a worker reconciles at most per round (one round per poll)."
    )
    sender_rates: str = _setting(
        "",
        "Per-sender rate limits overriding the defaults, as SENDER=MESSAGES_PER_SECOND pairs "
        "separated by commas (e.g. +14155550100=10,MG...=30).",
    )
    event_retry_hours: float = _setting(
        25.0, "How long Herald keeps retrying the delivery of an event to an application."
    )
    idempotency_hours: float = _setting(
        48.0, "How long an Idempotency-Key is remembered (at least 24 hours)."
    )
    http_read_timeout_seconds: float = _setting(
        15.0,
        "How long a client may take to send a request's headers, and then its body; a slower "
        "one is cut off (headers) or answered 408 (body), so slow clients cannot hold the server.",
    )
    log_level: str = _setting("info", "Log level: debug, info, warning or error.")

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.home / 'herald.db'}")
        scheme = urlsplit(self.database_url).scheme.split("+")[0]
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ConfigurationError(
                f"HERALD_DATABASE_URL has the scheme {scheme!r}; use sqlite:///PATH or "
                "postgresql://USER@HOST:PORT/DB."
            )
        if self.redis_url and urlsplit(self.redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise ConfigurationError(
                "HERALD_REDIS_URL must start with redis://, rediss:// or unix://."
            )
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            raise ConfigurationError(
                "Set both HERALD_TWILIO_ACCOUNT_SID and HERALD_TWILIO_AUTH_TOKEN, or neither "
                "(sandbox mode)."
            )
        self._check_limits()
        if self.admin_key and len(self.admin_key) < _MIN_ADMIN_KEY_LENGTH:
            raise ConfigurationError(
                f"HERALD_ADMIN_KEY must be at least {_MIN_ADMIN_KEY_LENGTH} characters; generate "
                "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'."
            )
        if self.log_level not in {"debug", "info", "warning", "error"}:
            raise ConfigurationError("HERALD_LOG_LEVEL must be one of debug, info, warning, error.")

    def _check_limits(self) -> None:
        if self.database_pool_size < 1:
            raise ConfigurationError("HERALD_DATABASE_POOL_SIZE must be at least 1.")
        if self.idempotency_hours < 24:  # noqa: PLR2004 - the promise made in the API docs
            raise ConfigurationError("HERALD_IDEMPOTENCY_HOURS must be at least 24.")
        if self.reconcile_after_seconds < 0 or self.reconcile_batch_size < 1:
            raise ConfigurationError(
                "HERALD_RECONCILE_AFTER_SECONDS must be 0 (off) or more, and "
                "HERALD_RECONCILE_BATCH_SIZE at least 1."
            )
        if self.api_key_cache_seconds < 0:
            raise ConfigurationError("HERALD_API_KEY_CACHE_SECONDS must be 0 (off) or more.")
        if self.http_read_timeout_seconds <= 0:
            raise ConfigurationError("HERALD_HTTP_READ_TIMEOUT_SECONDS must be more than 0.")

    @property
    def sandbox(self) -> bool:
        """Whether Herald runs against its own emulator (no Twilio credentials configured)."""
        return not self.twilio_account_sid

    @property
    def base_url(self) -> str:
        """The public base URL, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from `HERALD_*` variables; `overrides` (e.g. CLI flags) win."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            variable = ENV_PREFIX + field.name.upper()
            raw = environ.get(variable)
            if raw is not None and raw.strip() != "":
                values[field.name] = _convert(variable, raw.strip(), field.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigurationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        return cls(**values)

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, value with secrets masked, description) for every setting."""
        rows = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            shown = ",".join(value) if isinstance(value, tuple) else str(value)
            if field.metadata["secret"]:
                shown = mask_secret(shown)
            rows.append((ENV_PREFIX + field.name.upper(), shown, field.metadata["description"]))
        return rows


def _convert(variable: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() not in _TRUE | _FALSE:
            raise ConfigurationError(f"{variable} must be true or false, not {raw!r}.")
        return raw.lower() in _TRUE
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if isinstance(default, (int, float)):
        try:
            return type(default)(raw)
        except ValueError:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise ConfigurationError(f"{variable} must be {kind}, not {raw!r}.") from None
    return raw


def mask_secret(value: str) -> str:
    """Hide a secret (or a URL's password) while keeping enough to recognise it."""
    if not value:
        return ""
    # Only `scheme://` makes a URL: a key such as `abc:xyz...` has a "scheme" to urlsplit.
    if "://" in value:
        return _mask_url(value)
    # Show a prefix only of secrets long enough that it gives nothing useful away.
    return value[:4] + "••••••••" if len(value) >= _MIN_LEN_TO_SHOW_PREFIX else "••••••••"


def _mask_url(url: str) -> str:
    """`url` with the password of its user part and of a `password=` query parameter hidden."""
    parts = urlsplit(url)
    if parts.password:
        # Edited in place: rebuilding with geturl() would turn sqlite://// into sqlite://.
        user, _, host = parts.netloc.rpartition("@")
        masked = f"{user.split(':', 1)[0]}:•••••@{host}"
        url = url.replace(f"//{parts.netloc}", f"//{masked}", 1)
    if parts.query:
        url = url.replace(f"?{parts.query}", "?" + _PASSWORD_PARAMETER.sub(r"\1•••••", parts.query))
    return url
