"""Herald's public identifiers: a type prefix and a 26-character sortable id.

`msg_01J9Z3...` reads like a ULID: 48 bits of milliseconds since the epoch, then 80 random
bits, in Crockford's Base32, so that ids sort by creation time as text and reveal nothing
guessable. The time comes from the caller's clock, like every other time in storage.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Final

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_LENGTH: Final = 26
_RANDOM_BITS: Final = 80
_TIME_BITS: Final = 48

MESSAGE: Final = "msg"
TENANT: Final = "ten"
API_KEY: Final = "key"
EVENT: Final = "evt"
ENDPOINT: Final = "we"
INBOUND: Final = "inb"


def new_id(prefix: str, now: datetime) -> str:
    """A fresh id such as `msg_01J9Z3K4...` whose text order follows `now`."""
    millis = int(now.timestamp() * 1000) % (1 << _TIME_BITS)
    value = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    chars = []
    for _ in range(_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
