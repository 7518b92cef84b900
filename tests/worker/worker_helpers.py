"""Helpers for the worker tests: a manual clock, a provider source, messages to send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from herald.domain.phone import Channel
from herald.domain.records import MessageRecord, NewMessage
from herald.errors import ProviderUnavailable
from herald.providers import FakeTwilio, MessagingProvider, ProviderMessage
from herald.storage.messages import MessageRepository

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SENDER = "+14155550100"  # a US long code: 1 message a second by default
RECIPIENT = "+31612345678"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "b" * 32


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        """The current time."""
        return self.current

    def seconds(self) -> float:
        """The current time as Unix seconds (for the rate limiter)."""
        return self.current.timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock forwards."""
        self.current += timedelta(seconds=seconds)


class FlakyLookupTwilio(FakeTwilio):
    """A FakeTwilio whose message listing fails while `listing_fails` is set."""

    listing_fails = False

    async def list_messages(self, **filters: Any) -> AsyncIterator[ProviderMessage]:
        """Fail like an unreachable Twilio, or list as the fake does."""
        if self.listing_fails:
            raise ProviderUnavailable("Listing messages: connection refused")
        async for message in super().list_messages(**filters):
            yield message


class OneProvider:
    """A provider source handing every tenant the same provider."""

    def __init__(self, provider: MessagingProvider) -> None:
        self.provider = provider

    async def for_tenant(self, tenant_id: str) -> MessagingProvider:
        """The one provider."""
        del tenant_id
        return self.provider


def sms(to: str = RECIPIENT, body: str = "Your parcel arrives today", **changes: Any) -> NewMessage:
    """A new SMS as the API would accept it."""
    values: dict[str, Any] = {
        "channel": Channel.SMS,
        "to": to,
        "from_": SENDER,
        "body": body,
        "encoding": "GSM-7",
        "segments": 1,
    }
    values.update(changes)
    return NewMessage(**values)


async def accept(
    messages: MessageRepository, tenant_id: str, message: NewMessage, now: datetime
) -> MessageRecord:
    """Commit `message` to the outbox."""
    return (await messages.accept(tenant_id, message, now=now)).message
