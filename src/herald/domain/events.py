"""The events Herald tells applications about, and the JSON each one is delivered as.

Every event has the same envelope, whether it is posted to a webhook endpoint or served by
`GET /v1/events`:

    {"id": "evt_...", "type": "message.status_changed",
     "created_at": "2030-01-31T09:00:00.123Z", "data": {...}}

`id` is stable (the same on every delivery attempt and in the `webhook-id` header), so
receivers de-duplicate on it. `data` depends on `type`; its builders below fix its shape.
Times are ISO 8601 in UTC with milliseconds and a `Z`. Keys are only ever added to `data`,
never removed or renamed, so receivers should ignore keys they do not know.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from herald.domain.keywords import NO_MATCH, KeywordMatch
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource

__all__ = [
    "EventType",
    "encode_event",
    "envelope",
    "iso8601",
    "message_inbound_data",
    "message_status_changed_data",
    "opt_out_changed_data",
    "verification_data",
]


class EventType(enum.StrEnum):
    """The kinds of event an application can receive (and filter its endpoints by)."""

    MESSAGE_STATUS_CHANGED = "message.status_changed"
    MESSAGE_INBOUND = "message.inbound"
    OPT_OUT_CHANGED = "opt_out.changed"
    VERIFICATION_APPROVED = "verification.approved"
    VERIFICATION_FAILED = "verification.failed"
    VERIFICATION_THROTTLED = "verification.throttled"


def iso8601(moment: datetime) -> str:
    """`moment` in UTC as ISO 8601 with milliseconds and `Z`, e.g. `2030-01-31T08:00:00.123Z`.

    A naive datetime is refused: Herald never guesses which zone a time was in.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    event_id: str, event_type: EventType, created_at: datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The event as delivered: `id`, `type`, `created_at` and `data`."""
    return {
        "id": event_id,
        "type": event_type.value,
        "created_at": iso8601(created_at),
        "data": dict(data),
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The bytes of an event as posted (and signed): compact UTF-8 JSON, keys in given order."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def message_status_changed_data(
    *,
    message_id: str,
    channel: Channel,
    to: str,
    from_: str,
    status: Status,
    previous_status: Status,
    occurred_at: datetime,
    error_code: int | None = None,
    error_message: str | None = None,
    provider_sid: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`data` of `message.status_changed`: a message moved from one status to another.

    `error_code` is the provider's numeric code (e.g. Twilio's 30003) when the message failed
    or was not delivered. `metadata` is what the application attached to the message.
    """
    return {
        "message_id": message_id,
        "channel": channel.value,
        "to": to,
        "from": from_,
        "status": status.value,
        "previous_status": previous_status.value,
        "final": status.is_final,
        "error_code": error_code,
        "error_message": error_message,
        "provider_sid": provider_sid,
        "occurred_at": iso8601(occurred_at),
        "metadata": dict(metadata or {}),
    }


def message_inbound_data(
    *,
    message_id: str,
    channel: Channel,
    from_: str,
    to: str,
    body: str,
    received_at: datetime,
    media: Sequence[Mapping[str, str]] = (),
    keyword: KeywordMatch | None = None,
    provider_sid: str | None = None,
) -> dict[str, Any]:
    """`data` of `message.inbound`: a person sent a message to one of the tenant's senders.

    `media` lists `{"url": ..., "content_type": ...}` per attachment. `keyword` says whether
    the whole message was an opt-out, opt-in or help keyword (kind `none` when it was not);
    Herald has already acted on it when the event is delivered.
    """
    match = keyword or NO_MATCH
    return {
        "message_id": message_id,
        "channel": channel.value,
        "from": from_,
        "to": to,
        "body": body,
        "media": [{"url": item["url"], "content_type": item["content_type"]} for item in media],
        "keyword": {"kind": match.kind.value, "keyword": match.keyword, "language": match.language},
        "provider_sid": provider_sid,
        "received_at": iso8601(received_at),
    }


def opt_out_changed_data(
    *,
    channel: Channel,
    address: str,
    opted_out: bool,
    source: OptOutSource,
    changed_at: datetime,
    keyword: str | None = None,
) -> dict[str, Any]:
    """`data` of `opt_out.changed`: a person opted out of, or back into, a channel.

    `source` says how; with `OptOutSource.KEYWORD`, `keyword` names the word they texted.
    """
    return {
        "channel": channel.value,
        "address": address,
        "opted_out": opted_out,
        "source": source.value,
        "keyword": keyword,
        "changed_at": iso8601(changed_at),
    }


def verification_data(
    *,
    verification_id: str | None,
    channel: str,
    to: str,
    status: str,
    occurred_at: datetime,
    reason: str | None = None,
) -> dict[str, Any]:
    """`data` of the `verification.*` events: never the code, which no event carries.

    `reason` says why a verification failed (`expired`, `max_attempts_reached`) or which
    throttle refused a start (`number`, `ip`, `prefix`; `verification_id` is then None).
    """
    return {
        "verification_id": verification_id,
        "channel": channel,
        "to": to,
        "status": status,
        "reason": reason,
        "occurred_at": iso8601(occurred_at),
    }
