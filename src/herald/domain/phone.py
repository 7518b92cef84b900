"""Phone numbers as people type them, made into E.164; and Twilio's `whatsapp:` addresses.

`parse` accepts what a person writes (`06 12345678` with region NL, `+31 (0)6-1234 5678`,
`0031612345678`, `+1 415 555 0100`) and returns a `PhoneNumber`, or raises
`InvalidPhoneNumber` with a `reason` from `REASONS` and a `detail` a person can act on. Parsing
only establishes that a number exists; whether it can receive an SMS is a separate question,
answered by `PhoneNumber.can_receive_sms` and enforced by `require_sms_capable` /
`parse_recipient`.

`parse_address` reads the strict form Twilio uses in `To`/`From` and in webhooks (`+E164` or
`whatsapp:+E164`, TWILIO-API.md §14).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from typing import Final

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
    geocoder,
)
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import _number_type_helper

from herald.errors import InvalidPhoneNumber

REASONS: Final = frozenset(
    {
        "empty",
        "not_a_number",
        "too_short",
        "too_long",
        "invalid_country_code",
        "missing_country_code",
        "invalid_number",
        "not_sms_capable",
        "unknown_region",
        "not_e164",
        "unsupported_channel",
    }
)
"""Every `InvalidPhoneNumber.reason` this module raises; stable, for machines."""

# phonenumbers matches a number against dozens of its metadata's patterns (every region of +1
# for a North American number); keep them compiled rather than look each up in `re`'s cache.
phonenumbers.enable_pattern_cache()

# Digits in any script (phonenumbers folds full-width and Arabic-Indic digits), white space and
# the punctuation people put in numbers. Anything else is refused rather than silently dropped,
# as phonenumbers would (it reads "1-800-FLOWERS" as digits and "ext. 12" as an extension).
_ALLOWED = re.compile(r"[\d\s+\uff0b\-./()]*")
_FULLWIDTH_PLUS = "\uff0b"
_E164 = re.compile(r"\+[1-9]\d{1,14}")
_NON_GEOGRAPHIC = "001"  # phonenumbers' region for +800, +808, +870, +88x, +979
_UNKNOWN_TIME_ZONE = "Etc/Unknown"


class NumberType(enum.StrEnum):
    """What kind of line a number belongs to, from the national numbering plan."""

    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


_TYPES: Final = {
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.FIXED_LINE: NumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.VOIP: NumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER: NumberType.PAGER,
    PhoneNumberType.UAN: NumberType.UAN,
    PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
    PhoneNumberType.UNKNOWN: NumberType.UNKNOWN,
}

_NANP = 1

# Whether a valid number of each type can receive an SMS, and why. Twilio refuses SMS to a
# landline outside the US/Canada with a 400 and error 21614 (its per-country SMS guidelines); in
# the NANP mobile and fixed numbers share ranges, so the plan cannot tell them apart and Twilio
# hands the message to the carrier.
_SMS_CAPABILITY: Final = {
    NumberType.MOBILE: (True, "a mobile number"),
    NumberType.FIXED_LINE_OR_MOBILE: (
        True,
        "in a range shared by mobile and fixed lines, so it may be a mobile; the carrier decides",
    ),
    NumberType.VOIP: (True, "a VoIP number: most accept SMS, some do not"),
    NumberType.FIXED_LINE: (False, "a fixed line (landline); Twilio refuses SMS to those (21614)"),
    NumberType.UNKNOWN: (False, "of a kind the numbering plan does not state"),
}
_NANP_TOLL_FREE = (True, "a US/Canada toll-free number, which can be text-enabled")


def _sms_capability(number_type: NumberType, country_code: int) -> tuple[bool, str]:
    if number_type is NumberType.TOLL_FREE and country_code == _NANP:
        return _NANP_TOLL_FREE
    label = number_type.value.replace("_", " ")
    return _SMS_CAPABILITY.get(number_type, (False, f"a {label} number, which does not take SMS"))


@dataclasses.dataclass(frozen=True)
class PhoneNumber:
    """A valid phone number. `region` is ISO 3166 alpha-2, or None for a global service (+800)."""

    e164: str
    country_code: int
    region: str | None
    number_type: NumberType
    can_receive_sms: bool
    sms_reason: str

    def __str__(self) -> str:
        return self.e164

    # Formats and time zones cost as much again as parsing; most callers only want `e164`.
    @functools.cached_property
    def _parsed(self) -> phonenumbers.PhoneNumber:
        return phonenumbers.parse(self.e164)

    @functools.cached_property
    def national(self) -> str:
        """The number as dialled inside its country, e.g. `06 12345678`."""
        return phonenumbers.format_number(self._parsed, PhoneNumberFormat.NATIONAL)

    @functools.cached_property
    def international(self) -> str:
        """The number as printed for readers abroad, e.g. `+31 6 12345678`."""
        return phonenumbers.format_number(self._parsed, PhoneNumberFormat.INTERNATIONAL)

    @functools.cached_property
    def time_zones(self) -> tuple[str, ...]:
        """IANA time zones the number may be in; empty when the plan does not say."""
        zones = phone_timezone.time_zones_for_number(self._parsed)
        return tuple(zone for zone in zones if zone != _UNKNOWN_TIME_ZONE)

    @functools.cached_property
    def country_name(self) -> str:
        """The country's English name, e.g. `Netherlands`; empty for a global service."""
        return str(geocoder.country_name_for_number(self._parsed, "en"))


def normalise_region(region: str) -> str:
    """The upper-case ISO 3166 alpha-2 code phonenumbers knows, or `InvalidPhoneNumber`."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(
            f"{region!r} is not a region Herald knows: give an ISO 3166 two-letter country "
            "code such as NL, GB or US.",
            reason="unknown_region",
        )
    return code


@functools.lru_cache(maxsize=4096)
def parse(text: str, region: str | None = None) -> PhoneNumber:
    """The valid phone number written in `text`, whatever its punctuation.

    Answers are remembered (a `PhoneNumber` is immutable): a gateway parses the same senders
    and recipients again and again.

    `region` is where the number was written (ISO 3166 alpha-2): it supplies the country code
    and the international prefix when `text` has no `+`. Without a region, a leading `00` is
    read as the international prefix (ITU-T E.164's recommended one, used by most countries).
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPhoneNumber("The phone number is empty.", reason="empty")
    _reject_foreign_characters(text, stripped)
    stripped = stripped.replace(_FULLWIDTH_PLUS, "+")
    default_region = normalise_region(region) if region is not None else None
    if default_region is None and stripped.startswith("00"):
        stripped = "+" + stripped[2:]
    if default_region is None and not stripped.startswith("+"):
        raise InvalidPhoneNumber(
            f"{_shown(text)} has no country code: write it with + and the country code "
            "(e.g. +31 6 12345678), or give the region it was written in.",
            reason="missing_country_code",
        )
    try:
        parsed = phonenumbers.parse(stripped, default_region)
    except NumberParseException as exc:
        raise _parse_error(text, exc) from None
    return _validated(text, parsed)


def require_sms_capable(number: PhoneNumber) -> PhoneNumber:
    """`number` itself when it can receive an SMS; otherwise `InvalidPhoneNumber`."""
    if not number.can_receive_sms:
        raise InvalidPhoneNumber(
            f"{number.e164} cannot receive SMS: it is {number.sms_reason}. Use a mobile number.",
            reason="not_sms_capable",
        )
    return number


def parse_recipient(text: str, region: str | None = None) -> PhoneNumber:
    """Like `parse`, but also refuses numbers that cannot receive an SMS (landlines...)."""
    return require_sms_capable(parse(text, region))


_SHOWN_MAX = 40


def _shown(text: str) -> str:
    """`text` quoted for an error message, cut short so a pasted essay does not flood a log."""
    if len(text) <= _SHOWN_MAX:
        return repr(text)
    return repr(text[:_SHOWN_MAX]) + "…"


def _reject_foreign_characters(text: str, stripped: str) -> None:
    if _ALLOWED.fullmatch(stripped):
        return
    bad = next(char for char in stripped if not _ALLOWED.fullmatch(char))
    what = f"the letter {bad!r}" if bad.isalpha() else f"{bad!r}"
    raise InvalidPhoneNumber(
        f"{_shown(text)} is not a phone number: it contains {what}. Use digits, spaces and an "
        "optional leading +.",
        reason="not_a_number",
    )


def _parse_error(text: str, exc: NumberParseException) -> InvalidPhoneNumber:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return InvalidPhoneNumber(
            f"{_shown(text)} does not start with a country code that exists (after the + come the "
            "country code, e.g. +31 for the Netherlands, +1 for the US).",
            reason="invalid_country_code",
        )
    if exc.error_type == NumberParseException.TOO_LONG:
        return InvalidPhoneNumber(
            f"{_shown(text)} has too many digits to be a phone number.", reason="too_long"
        )
    if exc.error_type in {
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    }:
        return InvalidPhoneNumber(
            f"{_shown(text)} has too few digits to be a phone number.", reason="too_short"
        )
    return InvalidPhoneNumber(
        f"{_shown(text)} does not contain a phone number.", reason="not_a_number"
    )


def _validated(text: str, parsed: phonenumbers.PhoneNumber) -> PhoneNumber:
    region = phonenumbers.region_code_for_number(parsed)
    number_type = _number_type(parsed, region)
    country_code = parsed.country_code or 0
    if number_type is NumberType.UNKNOWN:
        raise _invalid(text, parsed, country_code)
    can_receive_sms, sms_reason = _sms_capability(number_type, country_code)
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
        country_code=country_code,
        region=None if region in {None, _NON_GEOGRAPHIC} else region,
        number_type=number_type,
        can_receive_sms=can_receive_sms,
        sms_reason=sms_reason,
    )


def _number_type(parsed: phonenumbers.PhoneNumber, region: str | None) -> NumberType:
    """`phonenumbers.number_type(parsed)`, given the region it would look up first.

    UNKNOWN exactly when the number is not valid. Finding the region is most of the work (for
    +1, every region of the plan is tried in turn), so it is done once, here and for the
    caller; the steps are `number_type`'s own (`tests/domain/test_phone.py` compares them)."""
    if region is None:  # no region's plan has the number
        return NumberType.UNKNOWN
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(parsed.country_code or 0, region)
    if metadata is None:
        return NumberType.UNKNOWN
    national = phonenumbers.national_significant_number(parsed)
    return _TYPES[_number_type_helper(national, metadata)]


def _invalid(text: str, parsed: phonenumbers.PhoneNumber, country_code: int) -> InvalidPhoneNumber:
    """The error explaining why `parsed` is invalid.

    Asked only after validation failed: phonenumbers' length check uses the main region of a
    shared country code, so on its own it would call Canada's valid 7-digit 310 numbers short.
    """
    where = f"country code +{country_code}"
    match phonenumbers.is_possible_number_with_reason(parsed):
        case phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
            return InvalidPhoneNumber(
                f"{_shown(text)}: +{country_code} is not a country code that exists.",
                reason="invalid_country_code",
            )
        case (
            phonenumbers.ValidationResult.TOO_SHORT
            | phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
        ):
            return InvalidPhoneNumber(
                f"{_shown(text)} has too few digits for {where} (is the area code missing?).",
                reason="too_short",
            )
        case phonenumbers.ValidationResult.TOO_LONG:
            return InvalidPhoneNumber(
                f"{_shown(text)} has too many digits for {where}.", reason="too_long"
            )
        case _:
            return InvalidPhoneNumber(
                f"{_shown(text)} is not a valid number for {where}: no number in its plan "
                "starts like this or has this many digits. Check the digits.",
                reason="invalid_number",
            )


class Channel(enum.StrEnum):
    """The channel a Twilio address reaches."""

    SMS = "sms"
    WHATSAPP = "whatsapp"


@dataclasses.dataclass(frozen=True)
class Address:
    """A number on a channel, as Twilio writes it in `To`/`From`: `+E164` or `whatsapp:+E164`."""

    channel: Channel
    number: PhoneNumber

    @property
    def twilio_form(self) -> str:
        """The address as Twilio's API and webhooks write it."""
        if self.channel is Channel.SMS:
            return self.number.e164
        return f"{self.channel.value}:{self.number.e164}"

    def __str__(self) -> str:
        return self.twilio_form


def parse_address(text: str) -> Address:
    """The `Address` in `text`: `+E164` for SMS, `whatsapp:+E164` for WhatsApp.

    The channel prefix tolerates case and white space (`WhatsApp: +316...`); the number must
    be strict E.164 (a `+` and digits only), as Twilio writes it.
    """
    if not text.strip():
        raise InvalidPhoneNumber("The address is empty.", reason="empty")
    channel_text, colon, number_text = text.partition(":")
    if colon:
        name = channel_text.strip().lower()
        if name != Channel.WHATSAPP.value:
            raise InvalidPhoneNumber(
                f"{_shown(text)}: {channel_text.strip()!r} is not a channel Herald addresses; "
                "write +E164 for SMS or whatsapp:+E164 for WhatsApp.",
                reason="unsupported_channel",
            )
        channel = Channel.WHATSAPP
    else:
        channel, number_text = Channel.SMS, text
    number_text = number_text.strip()
    if not _E164.fullmatch(number_text):
        raise InvalidPhoneNumber(
            f"{_shown(text)}: the number must be in E.164 form, a + and digits only "
            "(e.g. whatsapp:+31612345678).",
            reason="not_e164",
        )
    return Address(channel=channel, number=parse(number_text))
