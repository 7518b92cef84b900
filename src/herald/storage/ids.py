"""Herald's public identifiers: a type prefix and a 26-character sortable id.

`msg_01J9Z3...` reads like a ULID: 48 bits of milliseconds since the epoch, then 80 random
bits, in Crockford's Base32, so that ids sort by creation time as text and reveal nothing
guessable. The time comes from the caller's clock, like every other time in storage.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Final

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_LENGTH: Final = 26
_RANDOM_BITS: Final = 80
_TIME_BITS: Final = 48
_RANDOM_BYTES: Final = _RANDOM_BITS // 8
# Two digits at a time: every 10-bit value's pair, and where each pair of the id starts.
_PAIRS: Final = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
_PAIR_SHIFTS: Final = tuple(range(_LENGTH * 5 - 10, -1, -10))
_POOL_BYTES: Final = 400 * _RANDOM_BYTES

MESSAGE: Final = "msg"
TENANT: Final = "ten"
API_KEY: Final = "key"
EVENT: Final = "evt"
ENDPOINT: Final = "we"
INBOUND: Final = "inb"


def new_id(prefix: str, now: datetime) -> str:
    """A fresh id such as `msg_01J9Z3K4...` whose text order follows `now`."""
    millis = int(now.timestamp() * 1000) % (1 << _TIME_BITS)
    value = (millis << _RANDOM_BITS) | _POOL.take()
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


class _RandomPool:
    """The operating system's random bytes, read 400 ids' worth at a time (one system call
    each, rather than one per id); forgotten in a forked child, which must not repeat its
    parent's ids."""

    def __init__(self) -> None:
        self._bytes = b""
        self._at = 0

    def take(self) -> int:
        if self._at >= len(self._bytes):
            self._bytes = os.urandom(_POOL_BYTES)
            self._at = 0
        start = self._at
        self._at += _RANDOM_BYTES
        return int.from_bytes(self._bytes[start : self._at])

    def forget(self) -> None:
        self._bytes = b""
        self._at = 0


_POOL: Final = _RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)
