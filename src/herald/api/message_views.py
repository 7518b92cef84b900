"""The shapes of `/v1/messages`: the request an application sends and the views it gets back.

Pydantic models, so that `/openapi.json` documents every field. Times are ISO 8601 in UTC with
milliseconds and `Z`, as in events. The request is deliberately loose where the send policy
gives a better answer than a type check: `send_at` is text (so that a missing offset is
`invalid_send_at`, not a generic type error) and the body's length is the policy's to judge
(`body_too_long`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from herald.domain.events import iso8601
from herald.domain.phone import Channel
from herald.domain.policy import SendPlan
from herald.domain.records import MessageRecord, Purpose, StatusChange
from herald.domain.send_warnings import SendWarning


class SendMessageRequest(BaseModel):
    """A message to send; give exactly one of `body`, `template` and `content_sid`."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"channel": "sms", "to": "+31612345678", "body": "Your parcel arrives today."}
            ]
        },
    )

    channel: Channel = Field(Channel.SMS, description="`sms` or `whatsapp`.")
    to: str = Field(
        max_length=64,
        description="The recipient: E.164 (`+31612345678`), a national number read in the "
        "tenant's default region, or on WhatsApp optionally `whatsapp:+E164`.",
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=64,
        description="A number, short code, Messaging Service SID (`MG...`), alphanumeric "
        "sender ID or `whatsapp:+E164`; the tenant's default sender when left out.",
    )
    body: str | None = Field(None, description="The text, sent exactly as given.")
    template: str | None = Field(
        None, max_length=64, description="The name of one of the tenant's templates."
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values for the template's `{{placeholders}}`."
    )
    content_sid: str | None = Field(
        None, max_length=34, description="A Twilio Content template (`HX...`), for WhatsApp."
    )
    content_variables: dict[str, str] = Field(
        default_factory=dict, description='The Content template\'s variables, keyed "1", "2"...'
    )
    media_urls: list[str] = Field(
        default_factory=list, description="Up to ten public http(s) URLs of media."
    )
    send_at: str | None = Field(
        None,
        description="When to send: ISO 8601 with a UTC offset (`2030-01-31T09:00:00+01:00`); "
        "now when left out.",
    )
    purpose: Purpose = Field(
        Purpose.TRANSACTIONAL,
        description="`transactional`, `marketing`, or `verification` (a one-time code: its "
        "body is never shown again).",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Your own data, returned with the message and events."
    )
    reply_expected: bool = Field(
        default=False,
        description="You want the recipient to answer: refuses one-way (alphanumeric) senders.",
    )

    def fingerprint(self) -> str:
        """SHA-256 of the request's canonical JSON (defaults filled in, keys sorted).

        Two requests with the same fingerprint ask for the same message; an Idempotency-Key
        reused with another fingerprint is a conflict.
        """
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class WarningView(BaseModel):
    """Something worth knowing that does not stop the message (docs/sending-rules.md)."""

    model_config = ConfigDict(extra="allow")

    code: str
    detail: str


class StatusChangeView(BaseModel):
    """One status report in a message's history, applied or not."""

    status: str
    provider_status: str | None
    error_code: int | None
    error_message: str | None
    source: str = Field(description="`api`, `worker`, `callback` or `reconcile`.")
    occurred_at: str
    recorded_at: str
    applied: bool = Field(description="False when the report would have moved the status back.")


class MessageView(BaseModel):
    """A message as Herald holds it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    status: str
    channel: str
    to: str = Field(description="The normalised recipient: `+E164` or `whatsapp:+E164`.")
    from_: str | None = Field(alias="from", description="The sender as Twilio is given it.")
    body: str | None = Field(description="The text as it is sent (after the template).")
    encoding: str | None = Field(description="`GSM-7` or `UCS-2` for an SMS body, else null.")
    segments: int | None = Field(description="SMS segments the body takes, else null.")
    purpose: str
    metadata: dict[str, Any]
    template: str | None
    variables: dict[str, Any] | None
    content_sid: str | None
    content_variables: dict[str, Any] | None
    media_urls: list[str]
    send_at: str | None
    created_at: str
    updated_at: str
    provider_sid: str | None = Field(description="Twilio's SID (`SM...`) once Twilio has it.")
    error_code: int | None = Field(description="Twilio's error code when it failed.")
    error_message: str | None
    attempts: int = Field(description="Attempts at handing the message to Twilio so far.")


class AcceptedMessageView(MessageView):
    """A message just accepted (or the original one, for a repeated Idempotency-Key)."""

    warnings: list[WarningView] = Field(
        description="Warnings found when the message was accepted; empty on a replay."
    )


class MessageDetailView(MessageView):
    """A message with every status report received for it, oldest first."""

    history: list[StatusChangeView]


class MessagePage(BaseModel):
    """One page of messages, newest first."""

    data: list[MessageView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class PreviewView(BaseModel):
    """What `POST /v1/messages` would accept: nothing is stored or sent."""

    model_config = ConfigDict(populate_by_name=True)

    channel: str
    to: str
    from_: str = Field(alias="from")
    sender_kind: str = Field(
        description="`phone_number`, `short_code`, `alphanumeric`, `messaging_service` or "
        "`whatsapp`."
    )
    body: str | None
    media_urls: list[str]
    template: str | None
    content_sid: str | None
    encoding: str | None
    segments: int | None
    send_at: str | None
    status: str = Field(description="The status the message would start in.")
    purpose: str
    warnings: list[WarningView]
    analysis: dict[str, Any] | None = Field(
        description="The SMS body's full segment analysis (docs/segments.md); null when the "
        "body is not split into segments."
    )


def _time(moment: Any) -> str | None:
    return None if moment is None else iso8601(moment)


def message_fields(record: MessageRecord) -> dict[str, Any]:
    """The members of `MessageView` for a stored message."""
    return {
        "id": record.id,
        "status": record.status.value,
        "channel": record.channel.value,
        "to": record.to,
        "from": record.from_,
        # A one-time code's message is sent but never shown (docs/verifications.md).
        "body": None if record.purpose is Purpose.VERIFICATION else record.body,
        "encoding": record.encoding,
        "segments": record.segments,
        "purpose": record.purpose.value,
        "metadata": dict(record.metadata),
        "template": record.template,
        "variables": None if record.template_variables is None else dict(record.template_variables),
        "content_sid": record.content_sid,
        "content_variables": (
            None if record.content_variables is None else dict(record.content_variables)
        ),
        "media_urls": list(record.media_urls),
        "send_at": _time(record.send_at),
        "created_at": iso8601(record.created_at),
        "updated_at": iso8601(record.updated_at),
        "provider_sid": record.provider_sid,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "attempts": record.attempts,
    }


def accepted_view(record: MessageRecord, warnings: tuple[SendWarning, ...]) -> AcceptedMessageView:
    """The answer to `POST /v1/messages`."""
    return AcceptedMessageView.model_validate(
        {**message_fields(record), "warnings": [warning.as_dict() for warning in warnings]}
    )


def detail_view(record: MessageRecord, history: list[StatusChange]) -> MessageDetailView:
    """The answer to `GET /v1/messages/{id}`."""
    changes = [
        {
            "status": change.status.value,
            "provider_status": change.provider_status,
            "error_code": change.error_code,
            "error_message": change.error_message,
            "source": change.source.value,
            "occurred_at": iso8601(change.occurred_at),
            "recorded_at": iso8601(change.recorded_at),
            "applied": change.applied,
        }
        for change in history
    ]
    return MessageDetailView.model_validate({**message_fields(record), "history": changes})


def preview_view(plan: SendPlan) -> PreviewView:
    """The answer to `POST /v1/messages/preview`."""
    analysis = None if plan.segment_info is None else plan.segment_info.as_dict()
    return PreviewView.model_validate({**plan.as_dict(), "analysis": analysis})
