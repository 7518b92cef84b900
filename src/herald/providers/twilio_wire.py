"""Twilio's wire format (TWILIO-API.md §3, §4, §9) to and from Herald's provider dataclasses.

Requests are form fields in PascalCase: booleans as `true`/`false`, lists as repeated keys
(`MediaUrl=a&MediaUrl=b`), unset values left out so that Twilio's defaults apply, datetimes as
`YYYY-MM-DDTHH:MM:SSZ`. Responses are snake_case JSON where numbers of the 2010 API are strings
(`num_segments "1"`, `price "-0.00750"`) and dates RFC 2822; `from_json` functions accept both
the string and the number forms and raise `ValueError` on a resource they cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from herald.providers.models import (
    AvailableNumber,
    IncomingNumber,
    MessagingService,
    ProviderMessage,
    SendRequest,
    ServiceNumber,
)

FormPairs = list[tuple[str, str]]


def boolean(value: bool) -> str:  # noqa: FBT001 - a converter of one value
    """Twilio's spelling of a boolean form value."""
    return "true" if value else "false"


def instant(moment: datetime) -> str:
    """Twilio's spelling of a datetime form or query value, in UTC."""
    if moment.tzinfo is None:
        raise ValueError("Twilio datetimes must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def send_form(request: SendRequest) -> FormPairs:
    """The form fields of `POST …/Messages.json` for `request`."""
    pairs: FormPairs = [("To", request.to)]
    if request.from_:
        pairs.append(("From", request.from_))
    if request.messaging_service_sid:
        pairs.append(("MessagingServiceSid", request.messaging_service_sid))
    if request.body is not None:
        pairs.append(("Body", request.body))
    pairs.extend(("MediaUrl", url) for url in request.media_urls)
    if request.content_sid is not None:
        pairs.append(("ContentSid", request.content_sid))
    if request.content_variables is not None:
        # Twilio wants the variables as one JSON *string* field, not as nested form keys.
        pairs.append(
            ("ContentVariables", json.dumps(dict(request.content_variables), ensure_ascii=False))
        )
    if request.status_callback is not None:
        pairs.append(("StatusCallback", request.status_callback))
    if request.smart_encoded is not None:
        pairs.append(("SmartEncoded", boolean(request.smart_encoded)))
    if request.validity_period is not None:
        pairs.append(("ValidityPeriod", str(request.validity_period)))
    if request.force_delivery is not None:
        pairs.append(("ForceDelivery", boolean(request.force_delivery)))
    return pairs


def optional_fields(fields: Mapping[str, str | None]) -> FormPairs:
    """Form pairs for the fields that are set (`None` leaves Twilio's value alone)."""
    return [(name, value) for name, value in fields.items() if value is not None]


def _date(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 2822 date, got {value!r}")
    moment = parsedate_to_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _optional_date(value: Any) -> datetime | None:
    return None if value is None else _date(value)


def _integer(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    return int(value)


def _text(value: Any) -> str | None:
    """A string field; Twilio leaves unset URLs as `null` or as `""`, both meaning none."""
    if value is None or value == "":
        return None
    return str(value)


def _price(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"expected a price, got {value!r}") from None


def _capability(capabilities: Any, name: str) -> bool:
    # Key casing differs between sources (`sms` in the spec, `SMS` in some payloads, §9).
    if not isinstance(capabilities, Mapping):
        return False
    lowered = {str(key).lower(): flag for key, flag in capabilities.items()}
    return bool(lowered.get(name, False))


def message_from_json(data: Mapping[str, Any]) -> ProviderMessage:
    """A Message resource."""
    try:
        return ProviderMessage(
            sid=str(data["sid"]),
            account_sid=str(data["account_sid"]),
            to=str(data["to"]),
            from_=_text(data.get("from")),
            body=str(data.get("body") or ""),
            status=str(data["status"]),
            direction=str(data.get("direction") or ""),
            messaging_service_sid=_text(data.get("messaging_service_sid")),
            num_segments=_integer(data.get("num_segments"), 0) or 0,
            num_media=_integer(data.get("num_media"), 0) or 0,
            error_code=_integer(data.get("error_code")),
            error_message=_text(data.get("error_message")),
            price=_price(data.get("price")),
            price_unit=_text(data.get("price_unit")),
            date_created=_date(data["date_created"]),
            date_updated=_date(data["date_updated"]),
            date_sent=_optional_date(data.get("date_sent")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a Message resource ({exc!r})") from exc


def available_number_from_json(data: Mapping[str, Any]) -> AvailableNumber:
    """An AvailablePhoneNumber resource."""
    try:
        capabilities = data.get("capabilities")
        return AvailableNumber(
            phone_number=str(data["phone_number"]),
            friendly_name=str(data.get("friendly_name") or data["phone_number"]),
            iso_country=str(data.get("iso_country") or ""),
            region=_text(data.get("region")),
            sms=_capability(capabilities, "sms"),
            mms=_capability(capabilities, "mms"),
            voice=_capability(capabilities, "voice"),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an AvailablePhoneNumber resource ({exc!r})") from exc


def incoming_number_from_json(data: Mapping[str, Any]) -> IncomingNumber:
    """An IncomingPhoneNumber resource."""
    try:
        capabilities = data.get("capabilities")
        return IncomingNumber(
            sid=str(data["sid"]),
            account_sid=str(data["account_sid"]),
            phone_number=str(data["phone_number"]),
            friendly_name=str(data.get("friendly_name") or ""),
            sms_url=_text(data.get("sms_url")),
            sms_method=str(data.get("sms_method") or "POST"),
            status_callback=_text(data.get("status_callback")),
            sms=_capability(capabilities, "sms"),
            mms=_capability(capabilities, "mms"),
            voice=_capability(capabilities, "voice"),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an IncomingPhoneNumber resource ({exc!r})") from exc


def service_from_json(data: Mapping[str, Any]) -> MessagingService:
    """A Messaging Service resource (messaging v1)."""
    try:
        return MessagingService(
            sid=str(data["sid"]),
            account_sid=str(data["account_sid"]),
            friendly_name=str(data["friendly_name"]),
            inbound_request_url=_text(data.get("inbound_request_url")),
            status_callback=_text(data.get("status_callback")),
            use_inbound_webhook_on_number=bool(data.get("use_inbound_webhook_on_number")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a Messaging Service resource ({exc!r})") from exc


def service_number_from_json(data: Mapping[str, Any]) -> ServiceNumber:
    """A Messaging Service's PhoneNumber resource."""
    try:
        return ServiceNumber(
            sid=str(data["sid"]),
            service_sid=str(data["service_sid"]),
            phone_number=str(data["phone_number"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a Messaging Service PhoneNumber resource ({exc!r})") from exc
