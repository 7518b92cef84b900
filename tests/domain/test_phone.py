"""Phone numbers typed by people become E.164; bad ones are refused with a stable reason."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.phone import (
    REASONS,
    Address,
    Channel,
    NumberType,
    parse,
    parse_address,
    parse_recipient,
    require_sms_capable,
)
from herald.errors import InvalidPhoneNumber

NL_MOBILE = "+31612345678"


def _reason(text: str, region: str | None = None) -> str:
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse(text, region)
    assert caught.value.reason in REASONS
    return caught.value.reason


# Accepted formats.


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("06 12345678", "NL", NL_MOBILE),
        ("+31 (0)6-1234 5678", None, NL_MOBILE),
        ("+31 (0)6-1234 5678", "NL", NL_MOBILE),
        ("+31 (0)6-1234 5678", "US", NL_MOBILE),
        ("0031612345678", "NL", NL_MOBILE),
        ("0031612345678", None, NL_MOBILE),
        ("+1 415 555 0100", None, "+14155550100"),
        ("+1 415 555 0100", "NL", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("+44 20 7946 0018", None, "+442079460018"),
        ("  +31612345678\n", None, NL_MOBILE),
        ("+31.6.12.34.56.78", None, NL_MOBILE),
        (
            "\uff0b\uff13\uff11\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
            None,
            NL_MOBILE,
        ),
    ],
)
def test_typed_formats_become_e164(text: str, region: str | None, e164: str) -> None:
    """Each way people write a number parses to the same E.164 string."""
    assert parse(text, region).e164 == e164


def test_region_is_case_insensitive() -> None:
    """A lower-case region code works like the upper-case one."""
    assert parse("06 12345678", "nl").e164 == NL_MOBILE


def test_parsed_number_describes_itself() -> None:
    """A parsed number carries its country code, region, type, time zones and formats."""
    number = parse("06 12345678", "NL")
    assert number.country_code == 31
    assert number.region == "NL"
    assert number.number_type is NumberType.MOBILE
    assert number.time_zones == ("Europe/Amsterdam",)
    assert number.national == "06 12345678"
    assert number.international == "+31 6 12345678"
    assert number.country_name == "Netherlands"
    assert str(number) == NL_MOBILE


def test_global_service_number_has_no_region() -> None:
    """A +800 international freephone number has no ISO region and no time zone."""
    number = parse("+800 1234 5678")
    assert number.region is None
    assert number.time_zones == ()


def test_equal_numbers_compare_equal() -> None:
    """Two spellings of one number give equal, hashable values."""
    assert parse("06 12345678", "NL") == parse("+31612345678")
    assert len({parse("06 12345678", "NL"), parse("+31612345678")}) == 1


# Rejections, one per reason.


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_refused(text: str) -> None:
    """Empty or blank input is reason `empty`."""
    assert _reason(text, "NL") == "empty"


def test_letters_are_refused_naming_the_letter() -> None:
    """Letters (vanity numbers, "ext.") are not silently turned into digits."""
    with pytest.raises(InvalidPhoneNumber, match="the letter 'F'") as caught:
        parse("1-800-FLOWERS", "US")
    assert caught.value.reason == "not_a_number"


def test_foreign_symbols_are_refused() -> None:
    """A symbol such as # is reason `not_a_number`, naming the symbol."""
    with pytest.raises(InvalidPhoneNumber, match="'#'") as caught:
        parse("+1 212 555 0100 #5")
    assert caught.value.reason == "not_a_number"


def test_punctuation_alone_is_not_a_number() -> None:
    """Punctuation without digits is reason `not_a_number`."""
    assert _reason("+-()", "NL") == "not_a_number"


def test_too_short_is_refused() -> None:
    """A country code with one digit after it is reason `too_short`."""
    assert _reason("+31 6") == "too_short"


def test_local_number_without_area_code_is_too_short() -> None:
    """A US number without its area code is reason `too_short`."""
    assert _reason("555 0100", "US") == "too_short"


def test_too_long_is_refused() -> None:
    """More digits than the country's plan allows is reason `too_long`."""
    assert _reason("+31 6123456789012345") == "too_long"


def test_absurdly_long_input_is_too_long_and_not_echoed_whole() -> None:
    """A pasted wall of digits is `too_long`, and the message quotes only its start."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse("+3161234567" + "8" * 500)
    assert caught.value.reason == "too_long"
    assert len(caught.value.detail) < 200


def test_unknown_country_code_is_refused() -> None:
    """+999 is not an assigned country code: reason `invalid_country_code`."""
    assert _reason("+999 123456") == "invalid_country_code"


def test_national_number_without_region_is_missing_country_code() -> None:
    """`06 12345678` without a region cannot be placed: reason `missing_country_code`."""
    with pytest.raises(InvalidPhoneNumber, match=r"\+ and the country code") as caught:
        parse("06 12345678")
    assert caught.value.reason == "missing_country_code"


def test_number_invalid_for_its_country_is_refused() -> None:
    """A Dutch mobile one digit short is reason `invalid_number`."""
    assert _reason("+3161234567") == "invalid_number"


def test_reserved_fiction_range_is_invalid() -> None:
    """Ofcom's drama range (07700 900xxx) is not a valid UK number."""
    assert _reason("+44 7700 900123") == "invalid_number"


def test_unknown_region_is_refused() -> None:
    """A region code that does not exist is reason `unknown_region`."""
    assert _reason("06 12345678", "XX") == "unknown_region"


def test_every_reason_is_documented() -> None:
    """REASONS lists exactly the reasons the module can raise."""
    assert {
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
    } == REASONS


# SMS capability.


def test_mobile_can_receive_sms() -> None:
    """A mobile number can receive SMS."""
    assert parse(NL_MOBILE).can_receive_sms


def test_us_number_in_shared_range_can_receive_sms() -> None:
    """US/CA numbers are fixed_line_or_mobile and must be accepted for SMS."""
    number = parse("+1 415 555 0100")
    assert number.number_type is NumberType.FIXED_LINE_OR_MOBILE
    assert number.can_receive_sms


def test_landline_cannot_receive_sms() -> None:
    """A Dutch fixed line is parsed but marked as unable to receive SMS, saying why."""
    number = parse("020 123 4567", "NL")
    assert number.number_type is NumberType.FIXED_LINE
    assert not number.can_receive_sms
    assert "landline" in number.sms_reason


def test_us_toll_free_can_receive_sms() -> None:
    """A US toll-free number can be text-enabled, so it counts as SMS-capable."""
    assert parse("+1 800 555 0100").can_receive_sms


def test_toll_free_outside_north_america_cannot_receive_sms() -> None:
    """A Dutch 0800 number does not take SMS."""
    number = parse("0800 0123456", "NL")
    assert number.number_type is NumberType.TOLL_FREE
    assert not number.can_receive_sms


def test_require_sms_capable_refuses_a_landline() -> None:
    """require_sms_capable raises `not_sms_capable` for a fixed line."""
    with pytest.raises(InvalidPhoneNumber, match="landline") as caught:
        require_sms_capable(parse("+31201234567"))
    assert caught.value.reason == "not_sms_capable"


def test_require_sms_capable_returns_a_mobile() -> None:
    """require_sms_capable hands back an SMS-capable number unchanged."""
    number = parse(NL_MOBILE)
    assert require_sms_capable(number) is number


def test_parse_recipient_refuses_a_landline() -> None:
    """parse_recipient is parse plus the SMS capability check."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_recipient("020 123 4567", "NL")
    assert caught.value.reason == "not_sms_capable"


def test_parse_recipient_accepts_a_mobile() -> None:
    """parse_recipient returns the mobile number it was given."""
    assert parse_recipient("06 12345678", "NL").e164 == NL_MOBILE


# WhatsApp and SMS addresses.


def test_whatsapp_address_is_parsed() -> None:
    """`whatsapp:+E164` is a WhatsApp address on that number."""
    address = parse_address("whatsapp:+31612345678")
    assert address.channel is Channel.WHATSAPP
    assert address.number.e164 == NL_MOBILE


@pytest.mark.parametrize(
    "text", ["WhatsApp:+31612345678", " WHATSAPP : +31612345678 ", "whatsapp:+31612345678\n"]
)
def test_whatsapp_prefix_tolerates_case_and_spaces(text: str) -> None:
    """The channel prefix is read regardless of case and surrounding white space."""
    assert parse_address(text).twilio_form == "whatsapp:+31612345678"


def test_bare_e164_is_an_sms_address() -> None:
    """An address without a prefix is an SMS address."""
    address = parse_address("+14155550100")
    assert address.channel is Channel.SMS
    assert address.twilio_form == "+14155550100"


@pytest.mark.parametrize("text", ["whatsapp:+31 6 12345678", "whatsapp:0612345678", "0612345678"])
def test_address_number_must_be_strict_e164(text: str) -> None:
    """Spaces or a national number inside an address are reason `not_e164`."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_address(text)
    assert caught.value.reason == "not_e164"


def test_unknown_channel_prefix_is_refused() -> None:
    """A prefix other than whatsapp: is reason `unsupported_channel`."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_address("messenger:+31612345678")
    assert caught.value.reason == "unsupported_channel"


def test_empty_address_is_refused() -> None:
    """An empty address is reason `empty`."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_address("  ")
    assert caught.value.reason == "empty"


def test_address_with_invalid_number_is_refused() -> None:
    """A well-formed address whose number does not exist is reason `invalid_number`."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_address("whatsapp:+3161234567")
    assert caught.value.reason == "invalid_number"


@pytest.mark.parametrize("channel", list(Channel))
def test_address_round_trips_through_its_twilio_form(channel: Channel) -> None:
    """parse_address(str(address)) gives back the same address."""
    address = Address(channel, parse(NL_MOBILE))
    assert parse_address(str(address)) == address


# Properties over the whole numbering plan.

_EXAMPLES = sorted(
    {
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in phonenumbers.PhoneNumberType.values()
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)


def test_every_example_number_round_trips() -> None:
    """parse(e164).e164 is the identity for every region's example number of every type."""
    assert len(_EXAMPLES) > 900
    mismatched = [e164 for e164 in _EXAMPLES if parse(e164).e164 != e164]
    assert mismatched == []


@given(st.sampled_from(_EXAMPLES))
def test_national_format_parses_back_in_its_region(e164: str) -> None:
    """A number written nationally, with its region, parses to the same E.164."""
    number = parse(e164)
    if number.region is not None:
        assert parse(number.national, number.region).e164 == e164


@given(st.sampled_from(_EXAMPLES))
def test_international_format_parses_back(e164: str) -> None:
    """A number in international format parses to the same E.164, with no region."""
    assert parse(parse(e164).international).e164 == e164


@given(st.sampled_from(_EXAMPLES))
def test_whatsapp_address_round_trips(e164: str) -> None:
    """Every valid number survives whatsapp: form and back."""
    address = Address(Channel.WHATSAPP, parse(e164))
    assert parse_address(address.twilio_form) == address


def _outcome(text: str, region: str | None) -> str:
    """The E.164 string, or the reason of the InvalidPhoneNumber; anything else propagates."""
    try:
        return parse(text, region).e164
    except InvalidPhoneNumber as exc:
        return exc.reason


@given(st.text(), st.sampled_from([None, "NL", "US", "GB", "IN", "ZZ"]))
def test_any_text_raises_only_invalid_phone_number(text: str, region: str | None) -> None:
    """Whatever is typed, parse returns a number or raises InvalidPhoneNumber, nothing else."""
    outcome = _outcome(text, region)
    assert outcome in REASONS or outcome.startswith("+")


@given(st.text(alphabet="+0123456789 -()./", max_size=40))
def test_digit_soup_raises_only_invalid_phone_number(text: str) -> None:
    """Digits and punctuation in any order never escape as another exception."""
    outcome = _outcome(text, "NL")
    assert outcome in REASONS or outcome.startswith("+")


def _phonenumbers_own(e164: str) -> tuple[NumberType, str | None]:
    parsed = phonenumbers.parse(e164)
    kind = phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(parsed))
    region = phonenumbers.region_code_for_number(parsed)
    return NumberType(kind.lower()), None if region == "001" else region


def test_every_example_has_the_type_and_region_phonenumbers_gives() -> None:
    """Herald finds a number's region once and reads the type for it; that is the type and
    the region phonenumbers' own `number_type` and `region_code_for_number` give."""
    differing = [
        e164
        for e164 in _EXAMPLES
        if ((number := parse(e164)).number_type, number.region) != _phonenumbers_own(e164)
    ]
    assert differing == []


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_a_number_is_valid_exactly_when_phonenumbers_says_so(text: str) -> None:
    """Any E.164-shaped text: refused when phonenumbers finds it invalid, else typed alike."""
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(text))
    except phonenumbers.NumberParseException:  # no such country code, say
        valid = False
    outcome = _outcome(text, None)
    assert outcome.startswith("+") == valid
    if valid:
        assert (parse(text).number_type, parse(text).region) == _phonenumbers_own(outcome)
