"""Values shared by the storage tests: a fixed clock and a message factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from herald.domain.phone import Channel
from herald.domain.records import NewMessage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    """The fixed clock, `seconds` on."""
    return NOW + timedelta(seconds=seconds)


def sms(
    to: str = "+31612345678", body: str | None = "Your code is 123456", **changes: Any
) -> NewMessage:
    """A new SMS as the API would hand it to storage."""
    values: dict[str, Any] = {
        "channel": Channel.SMS,
        "to": to,
        "from_": "+14155550100",
        "body": body,
        "encoding": "GSM-7",
        "segments": 1,
    }
    values.update(changes)
    return NewMessage(**values)
