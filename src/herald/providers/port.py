"""`MessagingProvider`: the interface the worker and the API send messages through.

`TwilioClient` implements it over HTTP; `FakeTwilio` in memory for tests of the layers above.
Every method raises `herald.errors.ProviderError` (or a subclass) when the provider refuses or
cannot be reached; see `herald.providers.twilio_errors` for which failure is which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Final, Protocol

from herald.providers.models import ProviderMessage, SendRequest

DEFAULT_PAGE_SIZE: Final = 50
# How many of a recipient's messages `find_message` reads before it gives up (newest first).
DEFAULT_MAX_SCAN: Final = 1000


class MessagingProvider(Protocol):
    """Create, read and look up messages at a provider."""

    async def send_message(self, request: SendRequest) -> ProviderMessage:
        """Create the message; one attempt, never retried inside (a resend goes through the
        outbox). `AmbiguousSend` means it may exist: `find_message` before sending again."""
        ...

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """The message `sid` as the provider reports it now."""
        ...

    def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        date_sent_after: datetime | None = None,
        date_sent_before: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[ProviderMessage]:
        """The account's messages, newest first, filtered as given, every page followed."""
        ...

    async def find_message(
        self,
        *,
        to: str,
        from_: str | None,
        body: str | None,
        created_after: datetime,
        created_before: datetime,
        messaging_service_sid: str | None = None,
        max_scan: int = DEFAULT_MAX_SCAN,
    ) -> ProviderMessage | None:
        """The message one send attempt created, if the provider has it (`MessageLookup`)."""
        ...
