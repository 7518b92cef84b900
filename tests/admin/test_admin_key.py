"""The admin key: checked by the settings, generated once by the sandbox."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from herald.errors import ConfigurationError
from herald.sandbox import ADMIN_KEY_FILE, load_admin_key
from herald.settings import Settings


def test_a_short_admin_key_is_refused() -> None:
    """An admin key under 16 characters stops Herald, saying how to make one."""
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        Settings(admin_key="short")


def test_the_admin_key_is_masked_in_the_config() -> None:
    """`herald config` shows the admin key masked."""
    rows = {variable: shown for variable, shown, _ in Settings(admin_key="k" * 32).describe()}
    assert rows["HERALD_ADMIN_KEY"] == "kkkk••••••••"


def test_the_sandbox_generates_a_private_admin_key_once(tmp_path: Path) -> None:
    """The sandbox writes an admin key readable by its owner only, and reuses it next time."""
    first = load_admin_key(Settings(home=tmp_path))
    again = load_admin_key(Settings(home=tmp_path))
    assert len(first.admin_key) >= 16
    assert again.admin_key == first.admin_key
    assert stat.S_IMODE((tmp_path / ADMIN_KEY_FILE).stat().st_mode) == 0o600


def test_a_configured_admin_key_wins_over_the_sandbox_file(tmp_path: Path) -> None:
    """With HERALD_ADMIN_KEY set, the sandbox neither reads nor writes its file."""
    settings = load_admin_key(Settings(home=tmp_path, admin_key="configured-admin-key-123"))
    assert settings.admin_key == "configured-admin-key-123"
    assert not (tmp_path / ADMIN_KEY_FILE).exists()
