"""Herald's configuration: one immutable `Settings`, loaded once at the entry point.

Nothing in Herald reads the environment at import time. `Settings.from_env(os.environ)` is called
by the CLI (and by `create_app()` callers), then the object is passed down. Every field has a
`HERALD_*` twin; `docs/settings.md` lists them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from herald.errors import ConfigurationError

ENV_PREFIX = "HERALD_"
_MIN_LEN_TO_SHOW_PREFIX = 16


def _setting(default: Any, description: str, *, secret: bool = False) -> Any:
    return dataclasses.field(
        default=default, metadata={"description": description, "secret": secret}
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration of one Herald process."""

    home: Path = _setting(Path(".herald"), "Data directory: SQLite file and generated secrets.")
    database_url: str = _setting(
        "", "Database URL: sqlite:///PATH or postgresql://... (default: SQLite in HERALD_HOME)."
    )
    redis_url: str = _setting(
        "",
        "Redis URL for global rate limits and de-duplication (default: in-process).",
        secret=True,
    )
    public_url: str = _setting(
        "",
        "Public base URL of the gateway, as Twilio sees it; webhook signatures are checked on it.",
    )

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from `HERALD_*` variables; `overrides` (e.g. CLI flags) win."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            if raw is not None and raw != "":
                values[field.name] = Path(raw) if field.name == "home" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigurationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        return cls(**values)

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, value with secrets masked, description) for every setting."""
        rows = []
        for field in dataclasses.fields(self):
            value = str(getattr(self, field.name))
            if field.metadata["secret"]:
                value = mask_secret(value)
            rows.append((ENV_PREFIX + field.name.upper(), value, field.metadata["description"]))
        return rows


def mask_secret(value: str) -> str:
    """Hide a secret (or a URL's password) while keeping enough to recognise it."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme and parts.password:
        return value.replace(f":{parts.password}@", ":•••••@")
    if parts.scheme:
        return value
    # Show a prefix only of secrets long enough that it gives nothing useful away.
    return value[:4] + "••••••••" if len(value) >= _MIN_LEN_TO_SHOW_PREFIX else "••••••••"
