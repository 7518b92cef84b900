"""`herald config` shows every setting, and no secret: tokens, keys and URL passwords masked."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from herald.cli import main
from herald.settings import Settings, mask_secret
from herald.storage.crypto import generate_secret_key

AUTH_TOKEN = "0123456789abcdef" * 2
ADMIN_KEY = "admin:key-with-a-colon-0123456789"
DATABASE_PASSWORD = "pg-Pa55word"
REDIS_PASSWORD = "redis-Pa55word"


def test_config_masks_every_secret_setting(tmp_path: Path) -> None:
    """Auth token, secret key, admin key and the database and Redis passwords stay hidden."""
    secret_key = generate_secret_key()
    env = {
        "HERALD_HOME": str(tmp_path),
        "HERALD_DATABASE_URL": f"postgresql://herald:{DATABASE_PASSWORD}@db.internal:5432/herald",
        "HERALD_REDIS_URL": f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0",
        "HERALD_SECRET_KEY": secret_key,
        "HERALD_ADMIN_KEY": ADMIN_KEY,
        "HERALD_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "HERALD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    }
    result = CliRunner().invoke(main, ["config"], env=env)
    assert result.exit_code == 0, result.output
    for secret in (AUTH_TOKEN, secret_key, ADMIN_KEY, DATABASE_PASSWORD, REDIS_PASSWORD):
        assert secret not in result.output
    # Masked, not dropped: enough is left to recognise which database and Redis it is.
    assert "postgresql://herald:•••••@db.internal:5432/herald" in result.output
    assert "redis://:•••••@cache.internal:6379/0" in result.output
    assert "AC" + "1" * 32 in result.output


def test_every_setting_named_like_a_secret_is_masked() -> None:
    """A new token, key, secret or password setting cannot be added without being masked."""
    secret_like = re.compile(r"(token|key|secret|password)$")
    for field in dataclasses.fields(Settings):
        if secret_like.search(field.name) or field.name in {"database_url", "redis_url"}:
            assert field.metadata["secret"], f"{field.name} is shown unmasked by herald config"


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("admin:key-with-a-colon-0123456789", "admi••••••••"),
        ("postgresql://herald:pw@db:5432/herald", "postgresql://herald:•••••@db:5432/herald"),
        ("redis://user:p@ss@cache/0", "redis://user:•••••@cache/0"),
        ("redis://cache:6379/0?password=pw&db=1", "redis://cache:6379/0?password=•••••&db=1"),
        ("unix://:pw@/run/redis.sock?db=0", "unix://:•••••@/run/redis.sock?db=0"),
        (
            "postgresql://postgres@127.0.0.1:5432/herald",
            "postgresql://postgres@127.0.0.1:5432/herald",
        ),
        ("sqlite:////var/lib/herald/herald.db", "sqlite:////var/lib/herald/herald.db"),
    ],
)
def test_mask_secret_hides_passwords_and_keys_however_written(secret: str, shown: str) -> None:
    """A key with a colon is a key, not a URL; a URL keeps all but its password."""
    assert mask_secret(secret) == shown
