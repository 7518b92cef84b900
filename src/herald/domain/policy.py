"""The checks a message passes before Herald accepts it, as one pure function: `plan_send`.

`POST /v1/messages` and `POST /v1/messages/preview` both call it. It either returns a
`SendPlan` (the normalised recipient, the resolved sender, the body as it will be sent, its
segments and warnings) or raises `ProblemError` with a stable code and a detail a person can
act on. docs/sending-rules.md lists every rule and code.

The rules are checked in a fixed order, so that a request with several faults always gets the
same answer: the request's own shape (content, media, `send_at`), then the recipient, the
sender, the body, and last the recipient's state (opt-out, then the WhatsApp window).

Two facts live in the database: whether the recipient opted out, and when they last wrote on
WhatsApp. Both are keyed by the normalised recipient (and sender), so the caller first calls
`resolve_parties`, looks them up, then calls `plan_send` with them in the `SendContext`. The
worker calls `recheck_before_send` when it sends, since either may change while a message
waits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from herald.domain.alphanumeric import AlphanumericSupport, alphanumeric_verdict
from herald.domain.events import iso8601
from herald.domain.parties import Parties, resolve_recipient, resolve_sender
from herald.domain.phone import Channel
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import Purpose
from herald.domain.segments import analyse
from herald.domain.send_request import (
    SendContext,
    SendPlan,
    SendRequest,
    TenantDefaults,
    parse_channel,
    parse_purpose,
    parse_send_at,
)
from herald.domain.send_warnings import SendWarning, WarningCode, segment_warnings
from herald.domain.senders import SenderKind
from herald.domain.templates import Template, render, unused_variables

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_MEDIA",
    "SEND_AT_GRACE",
    "SEND_AT_HORIZON",
    "WHATSAPP_WINDOW",
    "SendContext",
    "SendPlan",
    "SendRequest",
    "TenantDefaults",
    "opted_out_problem",
    "parse_channel",
    "parse_purpose",
    "parse_send_at",
    "plan_send",
    "recheck_before_send",
    "resolve_parties",
    "whatsapp_window_closes_at",
]

MAX_BODY_LENGTH: Final = 1600
"""Twilio refuses a longer `Body` with error 21617 (counted in characters, as the emulator does)."""
MAX_MEDIA: Final = 10
"""Twilio takes at most ten `MediaUrl` values per message."""
WHATSAPP_WINDOW: Final = timedelta(hours=24)
"""How long after a customer's last message free-form WhatsApp messages may be sent."""
SEND_AT_GRACE: Final = timedelta(minutes=5)
"""How far in the past `send_at` may be and still mean "now" (clocks differ a little)."""
SEND_AT_HORIZON: Final = timedelta(days=366)
"""How far ahead `send_at` may be: further is almost always a mistake in the year."""

_CONTENT_SID: Final = re.compile(r"HX[0-9a-fA-F]{32}")  # the Messages spec's ContentSid pattern


def resolve_parties(request: SendRequest, tenant: TenantDefaults) -> Parties:
    """The normalised recipient and the sender a request resolves to (or its `ProblemError`)."""
    recipient = resolve_recipient(request.channel, request.to, tenant.default_region)
    sender = resolve_sender(
        recipient,
        request.from_,
        default_sender=tenant.default_sender,
        messaging_service_sid=tenant.messaging_service_sid,
        default_region=tenant.default_region,
    )
    return Parties(recipient, sender)


def plan_send(request: SendRequest, context: SendContext) -> SendPlan:
    """Check `request` against every sending rule; the plan to send it, or `ProblemError`."""
    warnings: list[SendWarning] = []
    _check_content_shape(request)
    _check_media(request.media_urls)
    send_at = _send_at(request.send_at, context.now, warnings)
    parties = resolve_parties(request, context.tenant)
    if parties.sender.kind is SenderKind.ALPHANUMERIC:
        _check_alphanumeric(parties, request, warnings)
    body = _body(request, context.tenant, warnings)
    segment_info = None
    if body is not None and parties.channel is Channel.SMS:
        segment_info = analyse(body)
        warnings += segment_warnings(segment_info, body_limit=MAX_BODY_LENGTH)
    recheck_before_send(
        parties,
        opted_out=context.opted_out,
        free_form=request.content_sid is None,
        whatsapp_last_inbound_at=context.whatsapp_last_inbound_at,
        at=send_at or context.now,
    )
    return SendPlan(
        parties=parties,
        body=body,
        media_urls=request.media_urls,
        template=request.template,
        variables=request.variables,
        content_sid=request.content_sid,
        content_variables=request.content_variables,
        segment_info=segment_info,
        send_at=send_at,
        purpose=request.purpose,
        reply_expected=request.reply_expected,
        warnings=tuple(warnings),
    )


def opted_out_problem(parties: Parties) -> ProblemError:
    """The `recipient_opted_out` refusal of a message to `parties.to`."""
    channel = parties.channel.value
    return ProblemError(
        ProblemCode.RECIPIENT_OPTED_OUT,
        f"{parties.to} has opted out of {channel} messages from you (for example by replying "
        f"STOP); Herald sends them nothing on {channel}, marketing or transactional, until "
        "they opt in again.",
        address=parties.to,
        channel=channel,
    )


def recheck_before_send(
    parties: Parties,
    *,
    opted_out: bool,
    free_form: bool,
    whatsapp_last_inbound_at: datetime | None,
    at: datetime,
) -> None:
    """The checks that depend on the recipient's state, repeated when the message is sent.

    `free_form` is False for a WhatsApp Content template (`content_sid`), which may be sent
    outside the window. Raises `recipient_opted_out` or `whatsapp_window_closed`.
    """
    if opted_out:
        raise opted_out_problem(parties)
    if parties.channel is Channel.WHATSAPP and free_form:
        _check_window(parties.to, whatsapp_last_inbound_at, at)


def whatsapp_window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    """When the window opened by a customer's last message closes; None if they never wrote.

    The window is open strictly before this time.
    """
    return None if last_inbound_at is None else last_inbound_at + WHATSAPP_WINDOW


def _check_window(to: str, last_inbound_at: datetime | None, at: datetime) -> None:
    closes_at = whatsapp_window_closes_at(last_inbound_at)
    if closes_at is not None and at < closes_at:
        return
    if closes_at is None:
        detail = (
            f"{to} has never written to you on WhatsApp, so WhatsApp allows only an approved "
            "template to start the conversation."
        )
    else:
        detail = (
            f"{to} last wrote at {iso8601(closes_at - WHATSAPP_WINDOW)}; the 24-hour window "
            f"for free-form messages closed at {iso8601(closes_at)}"
            f"{'' if at == closes_at else ', before ' + iso8601(at)}."
        )
    raise ProblemError(
        ProblemCode.WHATSAPP_WINDOW_CLOSED,
        f"{detail} Send an approved template with content_sid instead.",
        window_closed_at=None if closes_at is None else iso8601(closes_at),
    )


def _check_content_shape(request: SendRequest) -> None:
    given = [
        name
        for name, value in (
            ("body", request.body),
            ("template", request.template),
            ("content_sid", request.content_sid),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ProblemError(
            ProblemCode.CONFLICTING_CONTENT,
            f"The request gives {' and '.join(given)}; give exactly one of body, template and "
            "content_sid.",
            fields=given,
        )
    if request.variables and request.template is None:
        raise ProblemError(
            ProblemCode.CONFLICTING_CONTENT,
            "variables fill a template, but the request names no template; for a WhatsApp "
            "Content template use content_variables.",
            fields=["variables"],
        )
    if request.content_variables and request.content_sid is None:
        raise ProblemError(
            ProblemCode.CONFLICTING_CONTENT,
            "content_variables fill a Content template, but the request has no content_sid.",
            fields=["content_variables"],
        )
    if request.media_urls and request.content_sid is not None:
        raise ProblemError(
            ProblemCode.CONFLICTING_CONTENT,
            "A Content template (content_sid) brings its own media; leave media_urls out.",
            fields=["content_sid", "media_urls"],
        )
    if not given and not request.media_urls:
        raise ProblemError(
            ProblemCode.BODY_EMPTY,
            "The request has nothing to send: give a body, a template, a content_sid or "
            "media_urls.",
        )
    if request.content_sid is not None and not _CONTENT_SID.fullmatch(request.content_sid):
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"content_sid {request.content_sid!r} is not a Content template SID: HX followed "
            "by 32 hexadecimal digits.",
            field="content_sid",
        )


def _check_media(urls: tuple[str, ...]) -> None:
    if len(urls) > MAX_MEDIA:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"The request has {len(urls)} media_urls; a message carries at most {MAX_MEDIA}.",
            field="media_urls",
        )
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ProblemError(
                ProblemCode.INVALID_REQUEST,
                f"media_urls: {url!r} is not an http(s) URL; Twilio fetches each medium from "
                "a public http:// or https:// address.",
                field="media_urls",
            )


def _send_at(
    send_at: datetime | None, now: datetime, warnings: list[SendWarning]
) -> datetime | None:
    if send_at is None:
        return None
    if send_at <= now:
        late = now - send_at
        if late > SEND_AT_GRACE:
            raise ProblemError(
                ProblemCode.INVALID_SEND_AT,
                f"send_at {iso8601(send_at)} is {_duration(late)} in the past; leave send_at "
                "out to send now, or give a future time (check its UTC offset).",
                field="send_at",
            )
        warnings.append(
            SendWarning(
                WarningCode.SEND_AT_PAST,
                f"send_at {iso8601(send_at)} has passed, so the message is sent now.",
            )
        )
        return None
    if send_at - now > SEND_AT_HORIZON:
        raise ProblemError(
            ProblemCode.INVALID_SEND_AT,
            f"send_at {iso8601(send_at)} is more than {SEND_AT_HORIZON.days} days ahead; check "
            "the year.",
            field="send_at",
        )
    return send_at.astimezone(UTC)


_IN_MINUTES_UNTIL: Final = timedelta(hours=2)
_IN_HOURS_UNTIL: Final = timedelta(days=2)


def _duration(span: timedelta) -> str:
    if span < _IN_MINUTES_UNTIL:
        return f"{int(span.total_seconds() // 60)} minutes"
    if span < _IN_HOURS_UNTIL:
        return f"{int(span.total_seconds() // 3600)} hours"
    return f"{span.days} days"


def _check_alphanumeric(
    parties: Parties, request: SendRequest, warnings: list[SendWarning]
) -> None:
    sender, number = parties.sender.value, parties.recipient.number
    verdict = alphanumeric_verdict(number)
    if not verdict.permitted:
        raise ProblemError(
            ProblemCode.SENDER_NOT_ALLOWED,
            f"Cannot send from the alphanumeric sender ID {sender!r} to {number.e164}: "
            f"{verdict.explanation} Send from a phone number, short code or Messaging Service.",
            field="from",
            region=number.region,
        )
    if request.reply_expected:
        raise ProblemError(
            ProblemCode.SENDER_CANNOT_RECEIVE_REPLIES,
            f"The request expects a reply, but nobody can reply to the alphanumeric sender ID "
            f"{sender!r}; send from a phone number or Messaging Service.",
            field="from",
        )
    route = " (required for marketing)" if request.purpose is Purpose.MARKETING else ""
    warnings.append(
        SendWarning(
            WarningCode.ONE_WAY_SENDER,
            f"Nobody can reply to {sender!r}, so the recipient cannot text STOP: offer another "
            f"way to opt out{route}.",
        )
    )
    if verdict.support is AlphanumericSupport.REGISTRATION_REQUIRED:
        warnings.append(
            SendWarning(
                WarningCode.SENDER_REGISTRATION_REQUIRED,
                f"{verdict.explanation} Unless {sender!r} is registered for {number.region}, "
                "networks replace it or refuse the message.",
                {"region": number.region},
            )
        )
    elif verdict.support is AlphanumericSupport.UNKNOWN:
        where = number.region or f"+{number.country_code}"
        warnings.append(
            SendWarning(
                WarningCode.SENDER_COUNTRY_UNKNOWN,
                f"Herald has no rule for alphanumeric sender IDs to {where}; Twilio refuses the "
                "message (21612) if its networks do not take them.",
                {"region": number.region},
            )
        )


def _body(request: SendRequest, tenant: TenantDefaults, warnings: list[SendWarning]) -> str | None:
    origin = "The body"
    if request.template is not None:
        template = _template(request, tenant)
        body: str | None = render(template, request.variables)
        unused = unused_variables(template, request.variables)
        if unused:
            warnings.append(
                SendWarning(
                    WarningCode.UNUSED_VARIABLES,
                    f"Template {template.name!r} does not use {', '.join(unused)}.",
                    {"variables": list(unused)},
                )
            )
        origin = f"Template {template.name!r} filled in"
    else:
        body = request.body
    if body is None:
        return None
    if not body.strip():
        if request.media_urls:
            return None
        raise ProblemError(
            ProblemCode.BODY_EMPTY,
            f"{origin} is empty or only white space; give some text to send.",
            field="body",
        )
    if len(body) > MAX_BODY_LENGTH:
        raise ProblemError(
            ProblemCode.BODY_TOO_LONG,
            f"{origin} has {len(body):,} characters; a message holds at most "
            f"{MAX_BODY_LENGTH:,}. Shorten it or split it into several messages.",
            field="body",
            length=len(body),
            max_length=MAX_BODY_LENGTH,
        )
    return body


def _template(request: SendRequest, tenant: TenantDefaults) -> Template:
    name = request.template or ""
    template = tenant.templates.get(name)
    if template is None:
        known = ", ".join(sorted(tenant.templates)) or "none yet"
        raise ProblemError(
            ProblemCode.UNKNOWN_TEMPLATE,
            f"There is no template named {name!r} (the tenant's templates: {known}).",
            field="template",
        )
    if template.channel is not None and template.channel is not request.channel:
        raise ProblemError(
            ProblemCode.CHANNEL_MISMATCH,
            f"Template {name!r} is for {template.channel.value} only, but the channel is "
            f"{request.channel.value}.",
            field="template",
        )
    return template
