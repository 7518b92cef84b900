"""What a sender string is: a phone number, a short code, an alphanumeric ID, a Messaging Service
or a WhatsApp address; and short codes, recognised per country.

`classify_sender("MyShop")`, `classify_sender("22395", region="US")`,
`classify_sender("MG" + 32 hex digits)`: each returns a `Sender` saying which Twilio parameter
carries it (`From` or `MessagingServiceSid`) and in which canonical form.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from typing import Final

import phonenumbers
from phonenumbers import shortnumberinfo

from herald.domain.alphanumeric import validate_alphanumeric_sender
from herald.domain.phone import (
    Address,
    PhoneNumber,
    normalise_region,
    parse,
    parse_address,
)
from herald.errors import InvalidPhoneNumber, InvalidSender

# TWILIO-API.md §2: a SID is two upper-case letters and 32 hex digits; the spec pattern for a
# Messaging Service is ^MG[0-9a-fA-F]{32}$ (real SIDs use lower-case hex).
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_SID_LIKE = re.compile(r"MG[0-9A-Za-z]{12,}")
_WHATSAPP_PREFIX = re.compile(r"\s*whatsapp\s*:", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
_SHORT_CODE_MAX_DIGITS: Final = 8  # the longest short numbers in phonenumbers' metadata


class ShortCodeCost(enum.StrEnum):
    """What a message to the short code costs its sender, per phonenumbers' metadata."""

    TOLL_FREE = "toll_free"
    STANDARD_RATE = "standard_rate"
    PREMIUM_RATE = "premium_rate"
    UNKNOWN = "unknown"


_COSTS: Final = {
    shortnumberinfo.ShortNumberCost.TOLL_FREE: ShortCodeCost.TOLL_FREE,
    shortnumberinfo.ShortNumberCost.STANDARD_RATE: ShortCodeCost.STANDARD_RATE,
    shortnumberinfo.ShortNumberCost.PREMIUM_RATE: ShortCodeCost.PREMIUM_RATE,
    shortnumberinfo.ShortNumberCost.UNKNOWN_COST: ShortCodeCost.UNKNOWN,
}


@dataclasses.dataclass(frozen=True)
class ShortCode:
    """A short code valid in `region`'s numbering plan (it only works inside that country).

    `sms_service` is True when the plan marks the code as an SMS service; the metadata marks
    only some of them (e.g. US 5-6 digit codes from 2, but only 7xxxx/8xxxx codes in GB), so
    False means "not known to be", not "cannot be".
    """

    code: str
    region: str
    cost: ShortCodeCost
    sms_service: bool
    carrier_specific: bool

    def __str__(self) -> str:
        return self.code


def parse_short_code(text: str, region: str) -> ShortCode:
    """The short code `text` in `region` (ISO 3166 alpha-2), or `InvalidSender` saying why not.

    Emergency numbers (112, 911...) are valid short numbers but never senders, and are refused.
    """
    code = text.strip()
    country = normalise_region(region)
    if not _DIGITS.fullmatch(code) or len(code) > _SHORT_CODE_MAX_DIGITS:
        raise InvalidSender(f"{text!r} is not a short code: a short code is 3 to 8 digits.")
    try:
        number = phonenumbers.parse(code, country)
    except phonenumbers.NumberParseException:
        raise InvalidSender(f"{code} is too short to be a short code.") from None
    if shortnumberinfo.is_emergency_number(code, country):
        raise InvalidSender(f"{code} is an emergency number in {country}, not a short code.")
    if not shortnumberinfo.is_valid_short_number_for_region(number, country):
        raise InvalidSender(
            f"{code} is not a short code in {country}: its numbering plan has no such short number."
        )
    return ShortCode(
        code=code,
        region=country,
        cost=_COSTS[shortnumberinfo.expected_cost_for_region(number, country)],
        sms_service=shortnumberinfo.is_sms_service_for_region(number, country),
        carrier_specific=shortnumberinfo.is_carrier_specific_for_region(number, country),
    )


def is_short_code(text: str, region: str) -> bool:
    """Whether `text` is a (non-emergency) short code in `region`'s numbering plan."""
    try:
        parse_short_code(text, region)
    except InvalidSender:
        return False
    return True


class SenderKind(enum.StrEnum):
    """The forms a Twilio sender takes."""

    PHONE_NUMBER = "phone_number"
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"
    MESSAGING_SERVICE = "messaging_service"
    WHATSAPP = "whatsapp"


@dataclasses.dataclass(frozen=True)
class Sender:
    """A classified sender. `value` is its canonical form, as Twilio expects it."""

    kind: SenderKind
    value: str
    number: PhoneNumber | None = None
    short_code: ShortCode | None = None

    @property
    def twilio_parameter(self) -> str:
        """The Messages API parameter that carries this sender."""
        return "MessagingServiceSid" if self.kind is SenderKind.MESSAGING_SERVICE else "From"

    @property
    def one_way(self) -> bool:
        """True when recipients cannot reply to this sender (an alphanumeric ID)."""
        return self.kind is SenderKind.ALPHANUMERIC

    def __str__(self) -> str:
        return self.value


@functools.lru_cache(maxsize=4096)
def classify_sender(text: str, region: str | None = None) -> Sender:
    """What kind of sender `text` is, in canonical form (remembered: a tenant has few senders).

    In order: `whatsapp:+E164` is a WhatsApp address; `MG` and 32 hex digits a Messaging Service
    SID; anything with a letter an alphanumeric ID; up to 8 digits a short code of `region`
    (required: a short code only exists inside one country); anything else a phone number
    (`region` supplies a missing country code). Raises `InvalidSender` or one of its subclasses,
    or `InvalidPhoneNumber` for text that can only be meant as a phone number.
    """
    value = text.strip()
    if not value:
        raise InvalidSender("The sender is empty.")
    if _WHATSAPP_PREFIX.match(value):
        address: Address = parse_address(value)
        return Sender(SenderKind.WHATSAPP, address.twilio_form, number=address.number)
    if _MESSAGING_SERVICE_SID.fullmatch(value):
        return Sender(SenderKind.MESSAGING_SERVICE, value)
    if _SID_LIKE.fullmatch(value):
        raise InvalidSender(
            f"{value!r} looks like a Messaging Service SID, but one is MG and 32 hexadecimal "
            f"digits (34 characters); this has {len(value)} characters."
        )
    if _LETTER.search(value):
        return Sender(SenderKind.ALPHANUMERIC, validate_alphanumeric_sender(value))
    if _DIGITS.fullmatch(value) and len(value) <= _SHORT_CODE_MAX_DIGITS:
        return _short_code_or_number(value, region)
    number = parse(value, region)
    return Sender(SenderKind.PHONE_NUMBER, number.e164, number=number)


def _short_code_or_number(value: str, region: str | None) -> Sender:
    if region is None:
        raise InvalidSender(
            f"{value!r} looks like a short code; a short code only exists inside one country, "
            "so give the region (e.g. US), or write a phone number with + and its country code."
        )
    try:
        code = parse_short_code(value, region)
    except InvalidSender as not_short:
        # Some plans have short subscriber numbers (e.g. 7 digits in small countries).
        try:
            number = parse(value, region)
        except InvalidPhoneNumber:
            raise not_short from None
        return Sender(SenderKind.PHONE_NUMBER, number.e164, number=number)
    return Sender(SenderKind.SHORT_CODE, code.code, short_code=code)
