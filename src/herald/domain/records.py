"""What Herald stores, as plain values: the records the storage repositories take and return.

These are data, not behaviour: frozen dataclasses with no I/O, so that the API, the worker and
the webhook intake can be tested against them without a database. Every datetime here is
timezone-aware UTC. JSON-like fields (`metadata`, `payload`, ...) hold plain `dict`/`list`
values as decoded from JSON.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from herald.domain.keywords import KeywordKind
from herald.domain.lifecycle import Status, Transition
from herald.domain.phone import Channel

T = TypeVar("T")


class Purpose(enum.StrEnum):
    """Why a message is sent; marketing messages face stricter consent rules."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"
    # A one-time code: its body never appears in an API answer (docs/verifications.md).
    VERIFICATION = "verification"


class HistorySource(enum.StrEnum):
    """Who reported a status that went into a message's history."""

    API = "api"
    WORKER = "worker"
    CALLBACK = "callback"
    RECONCILE = "reconcile"


class OptOutSource(enum.StrEnum):
    """How an opt-out (or opt-in) was recorded."""

    KEYWORD = "keyword"
    API = "api"
    ADMIN = "admin"


@dataclasses.dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, newest first; `next_cursor` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None


# -- tenants and keys -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class TenantSettings:
    """A tenant's editable settings; None means "use Herald's default" for the reply texts."""

    default_sender: str | None = None
    default_region: str | None = None
    messaging_service_sid: str | None = None
    opt_out_reply: str | None = None
    opt_in_reply: str | None = None
    help_reply: str | None = None
    keyword_additions: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    templates: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class TwilioCredentials:
    """How Herald authenticates to Twilio for a tenant (decrypted; never log it).

    With an API key, `key_sid` is the key's SID (SK...) and `secret` its secret; otherwise
    `secret` is the account's auth token.
    """

    account_sid: str
    secret: str
    key_sid: str | None = None

    @property
    def username(self) -> str:
        """The HTTP Basic user name: the API key SID, else the account SID."""
        return self.key_sid or self.account_sid

    def __repr__(self) -> str:
        return f"TwilioCredentials(account_sid={self.account_sid!r}, key_sid={self.key_sid!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class Tenant:
    """A customer of the gateway, with its own Twilio account, senders and opt-out scope."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    twilio_account_sid: str | None
    twilio_key_sid: str | None
    has_twilio_secret: bool
    settings: TenantSettings


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as listed: its display prefix, never the key itself."""

    id: str
    tenant_id: str
    prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A new API key: `key` is shown once and cannot be recovered later."""

    api_key: ApiKey
    key: str

    def __repr__(self) -> str:
        return f"CreatedApiKey(api_key={self.api_key!r})"


# -- messages (the outbox) --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the API has checked and is about to commit to the outbox."""

    channel: Channel
    to: str
    from_: str | None
    body: str | None
    encoding: str | None = None
    segments: int | None = None
    purpose: Purpose = Purpose.TRANSACTIONAL
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    template: str | None = None
    template_variables: Mapping[str, Any] | None = None
    content_sid: str | None = None
    content_variables: Mapping[str, Any] | None = None
    media_urls: tuple[str, ...] = ()
    send_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as stored, with its outbox bookkeeping (attempts, next attempt, lease)."""

    id: str
    tenant_id: str
    channel: Channel
    to: str
    from_: str | None
    body: str | None
    encoding: str | None
    segments: int | None
    status: Status
    purpose: Purpose
    metadata: Mapping[str, Any]
    template: str | None
    template_variables: Mapping[str, Any] | None
    content_sid: str | None
    content_variables: Mapping[str, Any] | None
    media_urls: tuple[str, ...]
    send_at: datetime | None
    created_at: datetime
    updated_at: datetime
    provider_sid: str | None
    error_code: int | None
    error_message: str | None
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """The result of accepting a message: `created` is False for an idempotent replay."""

    message: MessageRecord
    created: bool


@dataclasses.dataclass(frozen=True, slots=True)
class MessageFilter:
    """Filters for listing messages; None means "any". `created_*` bounds are inclusive."""

    status: Status | None = None
    channel: Channel | None = None
    to: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of a message's history: a status someone reported, applied or not."""

    id: int
    message_id: str
    status: Status
    provider_status: str | None
    error_code: int | None
    error_message: str | None
    source: HistorySource
    occurred_at: datetime
    recorded_at: datetime
    applied: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What applying a status report did: the message after it, and the transition."""

    message: MessageRecord
    transition: Transition
    change: StatusChange


# -- opt-outs, WhatsApp, inbound ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OptOut:
    """Whether `address` (E.164) accepts messages from a tenant on a channel."""

    tenant_id: str
    channel: Channel
    address: str
    opted_out: bool
    source: OptOutSource
    keyword: str | None
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class OptOutChange:
    """One entry of the append-only opt-out history."""

    id: int
    tenant_id: str
    channel: Channel
    address: str
    opted_out: bool
    source: OptOutSource
    keyword: str | None
    occurred_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class NewInbound:
    """A message a person sent to one of the tenant's numbers, as the webhook received it.

    Each `media` item holds the attachment's `url` and `content_type`. The keyword fields are
    those of `herald.domain.keywords.classify`'s match (`keyword_kind` NONE: not a keyword).
    """

    provider_sid: str
    channel: Channel
    from_: str
    to: str
    body: str
    num_media: int = 0
    media: tuple[Mapping[str, str], ...] = ()
    keyword_kind: KeywordKind = KeywordKind.NONE
    keyword: str | None = None
    keyword_language: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class InboundMessage:
    """A stored inbound message."""

    id: str
    tenant_id: str
    provider_sid: str
    channel: Channel
    from_: str
    to: str
    body: str
    num_media: int
    media: tuple[Mapping[str, str], ...]
    keyword_kind: KeywordKind
    keyword: str | None
    keyword_language: str | None
    received_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """The result of storing an inbound message: `created` is False for a duplicate webhook."""

    message: InboundMessage
    created: bool


# -- events and their delivery ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Something the application is told about; `id` orders events and is the polling cursor."""

    id: int
    public_id: str
    tenant_id: str
    type: str
    payload: Mapping[str, Any]
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where a tenant wants its events; an empty `event_types` means every type."""

    id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    """A new webhook endpoint: `secret` (`whsec_...`) is shown once."""

    endpoint: WebhookEndpoint
    secret: str

    def __repr__(self) -> str:
        return f"CreatedEndpoint(endpoint={self.endpoint!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class EventDelivery:
    """The delivery of one event to one endpoint, attempted until it succeeds or is given up."""

    id: int
    event_id: int
    endpoint_id: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    given_up_at: datetime | None
    created_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryTask:
    """A claimed delivery with all a worker needs to attempt it (the secret is decrypted)."""

    delivery: EventDelivery
    event: Event
    url: str
    secret: str

    def __repr__(self) -> str:
        return f"DeliveryTask(delivery={self.delivery!r}, url={self.url!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """The last sign of life of a worker."""

    worker_id: str
    seen_at: datetime
