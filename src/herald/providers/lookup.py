"""Recognising a message Herald may have created: the rule behind `find_message`.

Twilio's message creation has no idempotency key. When a create got no answer (`AmbiguousSend`)
the worker asks the provider for messages to the same recipient and picks the one that is its
own: same `to`, same sender (number or Messaging Service), same body, outbound, created inside
the attempt's time window. The rule is pure so that the real client and `FakeTwilio` share it.

Two provider facts shape it:

- Twilio stores the body *as sent*: with Smart Encoding on (per message or on the Messaging
  Service) curly quotes and dashes come back replaced, so the smart-encoded form of the body
  matches too. A Content template's body is rendered by Twilio; pass `body=None` to match on
  the other fields alone.
- Dates are whole seconds (RFC 2822), so the window's start is floored to the second.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from herald.domain.gsm7 import smart_encode
from herald.errors import InvalidInput
from herald.providers.models import ProviderMessage

_OUTBOUND_PREFIX = "outbound"


@dataclasses.dataclass(frozen=True, slots=True)
class MessageLookup:
    """What a message created by one send attempt looks like at the provider."""

    to: str
    from_: str | None
    body: str | None
    created_after: datetime
    created_before: datetime
    messaging_service_sid: str | None = None

    def __post_init__(self) -> None:
        if self.from_ is None and self.messaging_service_sid is None:
            raise InvalidInput("Say who sent the message: give `from_` or `messaging_service_sid`.")
        if self.created_after.tzinfo is None or self.created_before.tzinfo is None:
            raise InvalidInput("The lookup window needs timezone-aware datetimes (UTC).")
        if self.created_before < self.created_after:
            raise InvalidInput(
                f"The lookup window ends ({self.created_before.isoformat()}) before it starts "
                f"({self.created_after.isoformat()})."
            )

    @property
    def bodies(self) -> frozenset[str] | None:
        """The bodies the provider may have stored (as given, and smart-encoded), or any."""
        if self.body is None:
            return None
        return frozenset({self.body, smart_encode(self.body)})

    def matches(self, message: ProviderMessage) -> bool:
        """Whether `message` is the one this send attempt would have created."""
        if message.to != self.to or not message.direction.startswith(_OUTBOUND_PREFIX):
            return False
        if self.from_ is not None and message.from_ != self.from_:
            return False
        if (
            self.messaging_service_sid is not None
            and message.messaging_service_sid != self.messaging_service_sid
        ):
            return False
        bodies = self.bodies
        if bodies is not None and message.body not in bodies:
            return False
        start = self.created_after.replace(microsecond=0)
        return start <= message.date_created <= self.created_before
