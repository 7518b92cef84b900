"""Secrets are encrypted at rest under HERALD_SECRET_KEY, and a wrong key is a clear error."""

from __future__ import annotations

import pytest

from herald.errors import ConfigurationError
from herald.storage.crypto import SecretBox, generate_secret_key


def test_round_trip() -> None:
    """What is encrypted decrypts to the same text, and the token does not contain it."""
    box = SecretBox(generate_secret_key())
    token = box.encrypt("auth-token-ünïcode")
    assert "auth-token" not in token
    assert box.decrypt(token) == "auth-token-ünïcode"


def test_wrong_key_cannot_decrypt() -> None:
    """A token made under one key fails under another with a ConfigurationError."""
    token = SecretBox(generate_secret_key()).encrypt("secret")
    with pytest.raises(ConfigurationError, match="cannot be decrypted with HERALD_SECRET_KEY"):
        SecretBox(generate_secret_key()).decrypt(token)


def test_missing_key_says_how_to_generate_one() -> None:
    """An empty key is refused with the command that makes one."""
    with pytest.raises(ConfigurationError, match="not set; generate one with"):
        SecretBox("")


def test_malformed_key_says_how_to_generate_one() -> None:
    """A key that is not Fernet's format is refused with the command that makes one."""
    with pytest.raises(ConfigurationError, match=r"not a Fernet key.*generate_secret_key"):
        SecretBox("not-a-key")


def test_rotation_decrypts_with_the_old_key() -> None:
    """With "new,old" configured, secrets written under the old key stay readable."""
    old, new = generate_secret_key(), generate_secret_key()
    token = SecretBox(old).encrypt("secret")
    rotated = SecretBox(f"{new},{old}")
    assert rotated.decrypt(token) == "secret"
    assert SecretBox(new).decrypt(rotated.encrypt("fresh")) == "fresh"


def test_repr_hides_the_key() -> None:
    """The box never shows its key when printed."""
    key = generate_secret_key()
    assert key not in repr(SecretBox(key))
