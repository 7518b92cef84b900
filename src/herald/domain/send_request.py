"""The values the send policy works on: the request, the tenant's defaults, the context, the plan.

`SendRequest` is what an application asked for, `TenantDefaults` and `SendContext` what else
decides whether it may be sent, and `SendPlan` the accepted result of
`herald.domain.policy.plan_send`. The `parse_*` helpers read the request's text fields the way
the policy expects them, refusing bad ones with the policy's problem codes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from herald.domain.events import iso8601
from herald.domain.lifecycle import Status
from herald.domain.parties import Parties
from herald.domain.phone import Channel, PhoneNumber, normalise_region
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import NewMessage, Purpose, TenantSettings
from herald.domain.segments import Encoding, SegmentInfo
from herald.domain.send_warnings import SendWarning
from herald.domain.senders import Sender
from herald.domain.templates import Template
from herald.errors import ConfigurationError, InvalidPhoneNumber

__all__ = [
    "SendContext",
    "SendPlan",
    "SendRequest",
    "TenantDefaults",
    "parse_channel",
    "parse_purpose",
    "parse_send_at",
]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True)
class SendRequest:
    """What the application asked for, field by field as `POST /v1/messages` takes it.

    Exactly one of `body`, `template` (with `variables`) and `content_sid` (with
    `content_variables`) is expected; `media_urls` may come alone or with `body`/`template`.
    `reply_expected` says the application wants the recipient to answer, which rules out a
    one-way alphanumeric sender. A `send_at` without a UTC offset is refused here
    (`invalid_send_at`): the moment it means is unknown.
    """

    channel: Channel
    to: str
    from_: str | None = None
    body: str | None = None
    template: str | None = None
    variables: Mapping[str, str] = dataclasses.field(default_factory=_empty)
    content_sid: str | None = None
    content_variables: Mapping[str, str] = dataclasses.field(default_factory=_empty)
    media_urls: tuple[str, ...] = ()
    send_at: datetime | None = None
    purpose: Purpose = Purpose.TRANSACTIONAL
    reply_expected: bool = False

    def __post_init__(self) -> None:
        if self.send_at is not None and self.send_at.utcoffset() is None:
            raise _naive_send_at(self.send_at.isoformat())
        object.__setattr__(self, "variables", _frozen(self.variables))
        object.__setattr__(self, "content_variables", _frozen(self.content_variables))
        object.__setattr__(self, "media_urls", tuple(self.media_urls))


@dataclasses.dataclass(frozen=True)
class TenantDefaults:
    """What a tenant configured that sending relies on.

    `default_region` (ISO 3166 alpha-2) reads numbers written without a country code;
    `default_sender` is used when a request has no `from`, and `messaging_service_sid` when it
    has none either or the default does not fit the channel; `templates` by name.
    """

    default_region: str | None = None
    default_sender: str | None = None
    messaging_service_sid: str | None = None
    templates: Mapping[str, Template] = dataclasses.field(default_factory=_empty)

    @classmethod
    def of(cls, settings: TenantSettings) -> TenantDefaults:
        """The defaults in a tenant's settings."""
        return cls(
            default_region=settings.default_region,
            default_sender=settings.default_sender,
            messaging_service_sid=settings.messaging_service_sid,
            templates={name: Template(name, body) for name, body in settings.templates.items()},
        )

    def __post_init__(self) -> None:
        if self.default_region is not None:
            try:
                region = normalise_region(self.default_region)
            except InvalidPhoneNumber as exc:
                raise ConfigurationError(f"The tenant's default region: {exc.detail}") from None
            object.__setattr__(self, "default_region", region)
        object.__setattr__(self, "templates", MappingProxyType(dict(self.templates)))


@dataclasses.dataclass(frozen=True)
class SendContext:
    """Everything besides the request that decides whether it may be sent.

    `opted_out` is whether the recipient opted out of this channel for this tenant, and
    `whatsapp_last_inbound_at` when they last wrote to the sender on WhatsApp (None if never);
    the caller looks both up for `resolve_parties`' result. `now` is an aware datetime.
    """

    tenant: TenantDefaults
    now: datetime
    opted_out: bool = False
    whatsapp_last_inbound_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.now, "now")
        if self.whatsapp_last_inbound_at is not None:
            _require_aware(self.whatsapp_last_inbound_at, "whatsapp_last_inbound_at")


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment!r}")


@dataclasses.dataclass(frozen=True)
class SendPlan:
    """An accepted message, exactly as Herald will send it.

    `body` is None only when Twilio renders the text (`content_sid`) or the message is media
    alone. `segment_info` is present for SMS with a body and None otherwise (WhatsApp and MMS
    are not split into segments; a Content template's text is not known here). `send_at` is
    None to send at once, else an aware UTC datetime.
    """

    parties: Parties
    body: str | None
    media_urls: tuple[str, ...]
    template: str | None
    variables: Mapping[str, str]
    content_sid: str | None
    content_variables: Mapping[str, str]
    segment_info: SegmentInfo | None
    send_at: datetime | None
    purpose: Purpose
    reply_expected: bool
    warnings: tuple[SendWarning, ...]

    @property
    def channel(self) -> Channel:
        """`sms` or `whatsapp`."""
        return self.parties.channel

    @property
    def to(self) -> str:
        """The normalised recipient: `+E164` or `whatsapp:+E164`."""
        return self.parties.to

    @property
    def recipient(self) -> PhoneNumber:
        """The recipient's number, with its country and type."""
        return self.parties.recipient.number

    @property
    def sender(self) -> Sender:
        """The resolved sender: its kind, and its value as Twilio expects it."""
        return self.parties.sender

    @property
    def encoding(self) -> Encoding | None:
        """`GSM-7` or `UCS-2` for an SMS body, else None."""
        return None if self.segment_info is None else self.segment_info.encoding

    @property
    def segments(self) -> int | None:
        """How many SMS segments the body takes, or None where segments do not apply."""
        return None if self.segment_info is None else self.segment_info.segments

    @property
    def initial_status(self) -> Status:
        """`scheduled` when held until `send_at`, else `accepted`."""
        return Status.SCHEDULED if self.send_at is not None else Status.ACCEPTED

    def new_message(self, metadata: Mapping[str, Any] | None = None) -> NewMessage:
        """The message to commit to the outbox for this plan, with the caller's `metadata`."""
        return NewMessage(
            channel=self.channel,
            to=self.to,
            from_=self.sender.value,
            body=self.body,
            encoding=self.encoding,
            segments=self.segments,
            purpose=self.purpose,
            metadata=dict(metadata or {}),
            template=self.template,
            template_variables=dict(self.variables) if self.template is not None else None,
            content_sid=self.content_sid,
            content_variables=(
                dict(self.content_variables) if self.content_sid is not None else None
            ),
            media_urls=self.media_urls,
            send_at=self.send_at,
        )

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values (what a preview shows)."""
        return {
            "channel": self.channel.value,
            "to": self.to,
            "from": self.sender.value,
            "sender_kind": self.sender.kind.value,
            "body": self.body,
            "media_urls": list(self.media_urls),
            "template": self.template,
            "content_sid": self.content_sid,
            "encoding": self.encoding,
            "segments": self.segments,
            "send_at": None if self.send_at is None else iso8601(self.send_at),
            "status": self.initial_status.value,
            "purpose": self.purpose.value,
            "warnings": [warning.as_dict() for warning in self.warnings],
        }


def parse_channel(text: str) -> Channel:
    """The channel named `text` (`sms` or `whatsapp`), or `invalid_request`."""
    try:
        return Channel(text.strip().lower())
    except ValueError:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"channel {text!r} is not one Herald sends on: use sms or whatsapp.",
            field="channel",
        ) from None


def parse_purpose(text: str) -> Purpose:
    """The purpose named `text` (`transactional` or `marketing`), or `invalid_request`."""
    try:
        return Purpose(text.strip().lower())
    except ValueError:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"purpose {text!r} is not known: use transactional or marketing.",
            field="purpose",
        ) from None


def parse_send_at(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset (`Z` or `+01:00`), or `invalid_send_at`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ProblemError(
            ProblemCode.INVALID_SEND_AT,
            f"send_at {text!r} is not an ISO 8601 time such as 2030-01-31T09:00:00+01:00.",
            field="send_at",
        ) from None
    if moment.tzinfo is None:
        raise _naive_send_at(text)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-14:00 is a valid ISO 8601 time past the last UTC datetime.
        raise ProblemError(
            ProblemCode.INVALID_SEND_AT,
            f"send_at {text!r} is outside the years 1 to 9999 once converted to UTC.",
            field="send_at",
        ) from None


def _naive_send_at(shown: str) -> ProblemError:
    return ProblemError(
        ProblemCode.INVALID_SEND_AT,
        f"send_at {shown} has no UTC offset, so the time it means is unknown; add Z or the "
        "offset, e.g. 2030-01-31T09:00:00+01:00.",
        field="send_at",
    )
