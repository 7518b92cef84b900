"""Per-sender throughput: how fast each sender drains its queue, and when a message expires in it.

Twilio sends from each sender at a fixed rate of message *segments* per second (MPS) and keeps
what it cannot send yet in that sender's queue (TWILIO-API.md §16):

| sender                                          | MPS |
|-------------------------------------------------|-----|
| US/Canada long code (`+1`, not toll-free)       | 1   |
| US/Canada toll-free (`+1 800/833/844/855/866/877/888`) | 3   |
| short code (up to 8 digits)                     | 100 |
| other countries' long codes, alphanumeric IDs   | 10  |
| WhatsApp (`whatsapp:+…`)                        | 80  |

A queued message waits until its sender has capacity for all its segments. A message that would
wait longer than its validity period never leaves the queue: it fails when the period runs out,
with 30036 ("validity period expired") when the request set a shorter `ValidityPeriod`, and with
30001 ("queue overflow") at the default 36,000 s, which is also the depth of Twilio's queue (ten
hours of the sender's throughput). An expired message takes no capacity from the ones behind it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Final

DEFAULT_VALIDITY_PERIOD: Final = 36_000
MIN_VALIDITY_PERIOD: Final = 1
QUEUE_OVERFLOW: Final = 30001
VALIDITY_EXPIRED: Final = 30036

_NANP_TOLL_FREE: Final = frozenset({"800", "833", "844", "855", "866", "877", "888"})
_SHORT_CODE_MAX_DIGITS: Final = 8
_WHATSAPP: Final = "whatsapp:"


def sender_mps(sender: str) -> float:
    """Message segments per second that Twilio sends from `sender` by default."""
    if sender.startswith(_WHATSAPP):
        return 80.0
    if sender.isdigit() and len(sender) <= _SHORT_CODE_MAX_DIGITS:
        return 100.0
    if sender.startswith("+1"):
        return 3.0 if sender[2:5] in _NANP_TOLL_FREE else 1.0
    return 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """When a queued message starts sending, or when and why it fails instead."""

    start: datetime | None
    expires: datetime | None = None
    error_code: int | None = None


class Throughput:
    """The queue position of every sender: when each one is next free to send."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._next_free: dict[str, datetime] = {}

    def reserve(
        self,
        sender: str,
        *,
        now: datetime,
        earliest: datetime,
        segments: int,
        queued_at: datetime,
        validity_period: int | None,
    ) -> Slot:
        """Book `segments` of `sender`'s capacity from `earliest` on, or say when it expires.

        `queued_at` is when the validity period started (creation, or the scheduled send time).
        """
        if not self.enabled:
            return Slot(start=earliest)
        free = self._next_free.get(sender, now)
        start = max(free, earliest)
        period = validity_period if validity_period is not None else DEFAULT_VALIDITY_PERIOD
        deadline = queued_at + timedelta(seconds=period)
        if start > deadline:
            code = VALIDITY_EXPIRED if validity_period is not None else QUEUE_OVERFLOW
            return Slot(start=None, expires=max(deadline, now), error_code=code)
        self._next_free[sender] = start + timedelta(seconds=max(segments, 1) / sender_mps(sender))
        return Slot(start=start)

    def backlog(self, sender: str, now: datetime) -> float:
        """Seconds of queued work ahead of a new message from `sender`."""
        free = self._next_free.get(sender)
        return 0.0 if free is None else max((free - now).total_seconds(), 0.0)

    def clear(self) -> None:
        """Forget every queue."""
        self._next_free.clear()
