"""Checking a `POST …/Messages.json` as Twilio does, with Twilio's codes (all HTTP 400).

Order of the checks, first failure wins:

| check                                                         | code  |
|---------------------------------------------------------------|-------|
| `To` missing                                                  | 21604 |
| neither `From` nor `MessagingServiceSid`                      | 21603 |
| no `Body`, `MediaUrl` or `ContentSid` (21619 with a Service)  | 21602 |
| `Body` longer than 1,600 characters                           | 21617 |
| `StatusCallback` not an http(s) URL with a valid host         | 21609 |
| `ValidityPeriod` outside 1-36,000 s                           | 21624 |
| `MessagingServiceSid` malformed / unknown                     | 21705 / 21701 |
| `ScheduleType` other than `fixed` / no `SendAt`               | 35126 / 35111 |
| scheduling without a Messaging Service                        | 35118 |
| `SendAt` not `YYYY-MM-DDTHH:MM:SSZ` / outside 300 s-35 days   | 35115 / 35114 |
| `To` not an E.164 number or `whatsapp:` address               | 21211 |
| `From` not a number, short code, alphanumeric ID or address   | 21212 |
| `From` and `To` on different channels                         | 21910 |
| WhatsApp `From` not the Sandbox nor a registered sender       | 63007 |
| `From` a number of another account / not the account's        | 21660 / 21606 |
| alphanumeric `From` to a US/Canada number                     | 21612 |
| SMS `To` a landline outside US/CA/UK (unless `ForceDelivery`) | 21635 |
| SMS `To` that cannot take SMS (premium, shared cost, ...)     | 21614 |
| `To` opted out of this sender or Service                      | 21610 |

Under test credentials the `From` checks are replaced by the magic numbers (`magic.py`).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from herald.domain.phone import NumberType, parse_address
from herald.emulator import errors
from herald.emulator.magic import magic_from_error, magic_to_error
from herald.emulator.wire import Params
from herald.errors import InvalidPhoneNumber

BODY_MAX: Final = 1600
MEDIA_MAX: Final = 10
STATUS_CALLBACK_MAX: Final = 4000
VALIDITY_MIN: Final = 1
VALIDITY_MAX: Final = 36_000
# 35115's page (2026) gives "more than 5 minutes (300 seconds)"; older copies of 35114 said
# 900 s. The current page wins.
SEND_AT_MIN: Final = timedelta(seconds=300)
SEND_AT_MAX: Final = timedelta(days=35)

_SEND_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 +\-_&]{1,11}")
_SHORT_CODE = re.compile(r"\d{3,8}")
_LANDLINE_SMS_REGIONS: Final = frozenset({"US", "CA", "GB"})

MESSAGES: Final[dict[int, str]] = {
    20001: "Invalid parameter",
    21211: "The 'To' number {to} is not a valid phone number.",
    21212: "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric "
    "sender ID.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
    "number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio "
    "phone number for this destination/account.",
    21609: "The StatusCallback URL {url} is not a valid URL.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
    "number: {from_} via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body, media urls or content sid must be specified.",
    21624: "Validity period can only be set to integers between 1 and 36,000 seconds.",
    21635: "'To' number cannot be a landline",
    21660: "Mismatch between the 'From' number {from_} and the account",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    35111: "SendAt timestamp is missing",
    35114: "Scheduling does not support this timestamp",
    35115: "SendAt timestamp is not in the expected format YYYY-MM-DDTHH:MM:SSZ",
    35118: "MessagingServiceSid is required to schedule a message",
    35126: "The ScheduleType value provided is not supported for this channel",
    63007: "Twilio could not find a Channel with the specified From address",
}


def refuse(code: int, **values: str) -> errors.TwilioError:
    """Twilio's 400 for `code`, its message filled with the offending values."""
    return errors.TwilioError(400, code, MESSAGES[code].format(**values))


@dataclasses.dataclass(frozen=True, slots=True)
class SendRequest:
    """A create request whose parameters have the right shapes (ownership is checked later)."""

    to: str
    from_: str | None
    service_sid: str | None
    body: str | None
    media_urls: tuple[str, ...]
    content_sid: str | None
    content_variables: str | None
    status_callback: str | None
    validity_period: int | None
    send_at: datetime | None
    smart_encoded: bool
    force_delivery: bool


def read_send_request(params: Params, now: datetime) -> SendRequest:
    """The parameters of a create, or the first of Twilio's refusals (table above)."""
    to = params.get("To") or ""
    from_ = params.get("From") or None
    service_sid = params.get("MessagingServiceSid") or None
    body = params.get("Body")
    media_urls = tuple(url for url in params.get_all("MediaUrl") if url)
    content_sid = params.get("ContentSid") or None
    if not to.strip():
        raise refuse(21604)
    if from_ is None and service_sid is None:
        raise refuse(21603)
    if not body and not media_urls and content_sid is None:
        raise refuse(21619 if service_sid is not None else 21602)
    if body is not None and len(body) > BODY_MAX:
        raise refuse(21617)
    if len(media_urls) > MEDIA_MAX:
        raise errors.invalid_parameter(f"Too many MediaUrl values: at most {MEDIA_MAX}.")
    status_callback = params.get("StatusCallback") or None
    if status_callback is not None and not valid_callback_url(status_callback):
        raise refuse(21609, url=status_callback)
    return SendRequest(
        to=to.strip(),
        from_=from_.strip() if from_ is not None else None,
        service_sid=service_sid,
        body=body,
        media_urls=media_urls,
        content_sid=content_sid,
        content_variables=params.get("ContentVariables"),
        status_callback=status_callback,
        validity_period=_validity_period(params),
        send_at=_send_at(params, service_sid, now),
        smart_encoded=params.boolean("SmartEncoded", default=False) or False,
        force_delivery=params.boolean("ForceDelivery", default=False) or False,
    )


def valid_callback_url(url: str) -> bool:
    """Whether Twilio accepts `url` as a StatusCallback (http/https, a valid host, no `_`)."""
    if len(url) > STATUS_CALLBACK_MAX:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or not host or port == 0:
        return False
    if host.startswith("[") or _is_ip(host):
        return True
    return all(_HOST_LABEL.fullmatch(label) for label in host.rstrip(".").split("."))


def _is_ip(host: str) -> bool:
    return ":" in host or all(part.isdigit() for part in host.split("."))


def _validity_period(params: Params) -> int | None:
    raw = params.get("ValidityPeriod")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise refuse(21624) from None
    if not VALIDITY_MIN <= value <= VALIDITY_MAX:
        raise refuse(21624)
    return value


def _send_at(params: Params, service_sid: str | None, now: datetime) -> datetime | None:
    schedule_type = params.get("ScheduleType")
    raw = params.get("SendAt") or None
    if schedule_type is None or schedule_type == "":
        # Twilio's 35111 page: without ScheduleType=fixed the request is not a scheduled one.
        return None
    if schedule_type != "fixed":
        raise refuse(35126)
    if raw is None:
        raise refuse(35111)
    if service_sid is None:
        raise refuse(35118)
    if not _SEND_AT.fullmatch(raw):
        raise refuse(35115)
    send_at = datetime.fromisoformat(raw).astimezone(UTC)
    if not now + SEND_AT_MIN < send_at <= now + SEND_AT_MAX:
        raise refuse(35114)
    return send_at


def check_recipient(request: SendRequest, *, test: bool) -> str:
    """The canonical `To` address (E.164 or `whatsapp:+E164`), or Twilio's refusal."""
    if test:
        code = magic_to_error(request.to)
        if code is not None:
            raise refuse(code, to=request.to, from_=request.from_ or "")
    try:
        address = parse_address(request.to)
    except InvalidPhoneNumber:
        raise refuse(21211, to=request.to) from None
    if address.channel.value == "sms" and not request.force_delivery:
        number = address.number
        if number.number_type is NumberType.FIXED_LINE:
            if number.region not in _LANDLINE_SMS_REGIONS:
                raise refuse(21635)
        elif not number.can_receive_sms:
            raise refuse(21614)
    return address.twilio_form


def check_test_sender(request: SendRequest) -> None:
    """Under test credentials: the magic `From` table (a Service cannot be used at all)."""
    from_ = request.from_ or ""
    code = magic_from_error(from_)
    if code is not None:
        raise refuse(code, from_=from_, to=request.to)


def sender_shape(from_: str) -> str:
    """What kind of sender `from_` is: `whatsapp`, `number`, `short_code` or `alphanumeric`.

    Anything else is 21212.
    """
    if from_.lower().startswith("whatsapp:"):
        try:
            parse_address(from_)
        except InvalidPhoneNumber:
            raise refuse(21212, from_=from_) from None
        return "whatsapp"
    if from_.startswith("+"):
        try:
            parse_address(from_)
        except InvalidPhoneNumber:
            raise refuse(21212, from_=from_) from None
        return "number"
    if _SHORT_CODE.fullmatch(from_):
        return "short_code"
    if _ALPHANUMERIC.fullmatch(from_) and any(char.isalpha() for char in from_):
        return "alphanumeric"
    raise refuse(21212, from_=from_)
