"""Encryption of secrets at rest (provider credentials, webhook signing secrets).

Secrets that Herald must use again (a tenant's Twilio auth token, the secret it signs a webhook
endpoint's deliveries with) cannot be hashed; they are encrypted with Fernet (AES-128-CBC with
HMAC-SHA256, from `cryptography`) under `HERALD_SECRET_KEY`. API keys, which Herald only checks,
are hashed instead (see `apikeys.py`).

`HERALD_SECRET_KEY` may list several keys separated by commas to rotate it: the first encrypts,
every one is tried to decrypt, so secrets written under the old key stay readable until they
are written again.
"""

from __future__ import annotations

import binascii
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from herald.errors import ConfigurationError

HOW_TO_GENERATE: Final = (
    'generate one with `python -c "from herald.storage.crypto import generate_secret_key; '
    'print(generate_secret_key())"` and keep it safe: losing it makes the stored provider '
    "secrets unreadable"
)


def generate_secret_key() -> str:
    """A new random key for `HERALD_SECRET_KEY` (urlsafe Base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts short secrets under `HERALD_SECRET_KEY`."""

    __slots__ = ("_fernet",)

    def __init__(self, key: str) -> None:
        keys = [part.strip() for part in key.split(",") if part.strip()]
        if not keys:
            raise ConfigurationError(f"HERALD_SECRET_KEY is not set; {HOW_TO_GENERATE}.")
        fernets = []
        for position, each in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(each.encode("ascii")))
            except (ValueError, binascii.Error, UnicodeEncodeError):
                which = "" if len(keys) == 1 else f" (key {position} of {len(keys)})"
                raise ConfigurationError(
                    f"HERALD_SECRET_KEY{which} is not a Fernet key (urlsafe Base64 of 32 "
                    f"bytes); {HOW_TO_GENERATE}."
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, secret: str) -> str:
        """`secret` encrypted under the first key, as ASCII text for a database column."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The secret in `token`; `ConfigurationError` if no configured key encrypted it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise ConfigurationError(
                "A stored secret cannot be decrypted with HERALD_SECRET_KEY: the key differs from "
                "the one it was encrypted with. Restore the previous key (list it after the new "
                "one, separated by a comma, while rotating)."
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"
