"""What Herald asks a messaging provider and what it hears back, as frozen dataclasses.

These are plain values: no sockets, no JSON. `herald.providers.twilio_wire` turns them into
Twilio's form fields and back; `FakeTwilio` builds them directly. Field names follow Twilio's
resource fields in snake case (`from_` because `from` is a keyword).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Final

from herald.errors import InvalidInput

BODY_MAX_CHARS: Final = 1600
MEDIA_MAX: Final = 10
VALIDITY_MIN_SECONDS: Final = 1
VALIDITY_MAX_SECONDS: Final = 36_000


@dataclasses.dataclass(frozen=True, slots=True)
class SendRequest:
    """One message to create (`POST …/Messages.json`), checked for shape before it is sent.

    `from_` or `messaging_service_sid` (or both) names the sender; `body`, `media_urls` or
    `content_sid` the content. `content_variables` maps a template's placeholders (`"1"`, ...) to
    values. `smart_encoded`, `force_delivery` and `validity_period` are sent only when set, so the
    account's or Messaging Service's defaults apply otherwise. Twilio checks the rest (numbers,
    ownership, opt-outs) and answers with its own error codes.
    """

    to: str
    from_: str | None = None
    messaging_service_sid: str | None = None
    body: str | None = None
    media_urls: tuple[str, ...] = ()
    content_sid: str | None = None
    content_variables: Mapping[str, str] | None = None
    status_callback: str | None = None
    smart_encoded: bool | None = None
    validity_period: int | None = None
    force_delivery: bool | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise InvalidInput("A message needs a recipient: set `to`.")
        if not self.from_ and not self.messaging_service_sid:
            raise InvalidInput("A message needs a sender: set `from_` or `messaging_service_sid`.")
        if self.body is None and not self.media_urls and self.content_sid is None:
            raise InvalidInput(
                "A message needs content: set `body`, `media_urls` or `content_sid`."
            )
        if self.body is not None and len(self.body) > BODY_MAX_CHARS:
            raise InvalidInput(
                f"The body has {len(self.body)} characters; Twilio accepts at most "
                f"{BODY_MAX_CHARS} (error 21617). Shorten it or send it as several messages."
            )
        if len(self.media_urls) > MEDIA_MAX:
            raise InvalidInput(
                f"{len(self.media_urls)} media URLs given; Twilio accepts at most {MEDIA_MAX}."
            )
        if self.content_variables is not None and self.content_sid is None:
            raise InvalidInput("`content_variables` fill a template: set `content_sid` as well.")
        if self.validity_period is not None and not (
            VALIDITY_MIN_SECONDS <= self.validity_period <= VALIDITY_MAX_SECONDS
        ):
            raise InvalidInput(
                f"validity_period is {self.validity_period} s; Twilio accepts "
                f"{VALIDITY_MIN_SECONDS} to {VALIDITY_MAX_SECONDS} seconds."
            )


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderMessage:
    """A Message resource as the provider reports it.

    `status` is the provider's own word (`queued`, `accepted`, `delivered`, ...);
    `herald.domain.lifecycle.from_twilio` maps it to Herald's `Status`. `from_` is `None` while a
    Messaging Service has not picked the sender yet. Dates are timezone-aware UTC, to the second.
    """

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    status: str
    direction: str
    messaging_service_sid: str | None
    num_segments: int
    num_media: int
    error_code: int | None
    error_message: str | None
    price: Decimal | None
    price_unit: str | None
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class AvailableNumber:
    """A number on sale (`AvailablePhoneNumbers`)."""

    phone_number: str
    friendly_name: str
    iso_country: str
    region: str | None
    sms: bool
    mms: bool
    voice: bool


@dataclasses.dataclass(frozen=True, slots=True)
class IncomingNumber:
    """A number the account owns (`IncomingPhoneNumbers`) and where its webhooks point."""

    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None
    sms_method: str
    status_callback: str | None
    sms: bool
    mms: bool
    voice: bool


@dataclasses.dataclass(frozen=True, slots=True)
class MessagingService:
    """A Messaging Service (messaging v1 `Services`)."""

    sid: str
    account_sid: str
    friendly_name: str
    inbound_request_url: str | None
    status_callback: str | None
    use_inbound_webhook_on_number: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceNumber:
    """A number in a Messaging Service's sender pool; its SID is the number's own `PN…`."""

    sid: str
    service_sid: str
    phone_number: str
