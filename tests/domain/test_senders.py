"""Senders are classified, short codes recognised per country, alphanumeric IDs checked."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from herald.domain.alphanumeric import (
    COUNTRY_RULES,
    MAX_LENGTH,
    REASONS,
    AlphanumericSupport,
    alphanumeric_verdict,
    country_rule,
    require_alphanumeric_sender,
    validate_alphanumeric_sender,
)
from herald.domain.phone import parse
from herald.domain.senders import (
    SenderKind,
    ShortCodeCost,
    classify_sender,
    is_short_code,
    parse_short_code,
)
from herald.errors import (
    InvalidAlphanumericSender,
    InvalidInput,
    InvalidPhoneNumber,
    InvalidSender,
)

SERVICE_SID = "MG" + "0123456789abcdef" * 2
EU = {
    *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
    *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
}


def _alpha_reason(sender_id: str) -> str:
    with pytest.raises(InvalidAlphanumericSender) as caught:
        validate_alphanumeric_sender(sender_id)
    assert caught.value.reason in REASONS
    return caught.value.reason


# Short codes.


def test_us_short_code_is_recognised() -> None:
    """22395 is an SMS short code in the US plan."""
    code = parse_short_code("22395", "US")
    assert (code.code, code.region) == ("22395", "US")
    assert code.sms_service
    assert str(code) == "22395"


def test_short_code_cost_comes_from_the_plan() -> None:
    """The US plan lists 23333 as standard rate."""
    assert parse_short_code("23333", "US").cost is ShortCodeCost.STANDARD_RATE


def test_us_short_codes_do_not_start_with_one() -> None:
    """US short codes start with 2-9, so 12345 is not one."""
    assert not is_short_code("12345", "US")


def test_short_code_is_national() -> None:
    """A code valid in one country's plan need not be valid in another's."""
    assert is_short_code("36180", "FR")
    assert not is_short_code("36180", "NL")


def test_emergency_number_is_not_a_short_code() -> None:
    """112 is a valid short number but an emergency number, never a sender."""
    with pytest.raises(InvalidSender, match="emergency"):
        parse_short_code("112", "NL")


@pytest.mark.parametrize("text", ["", "12a45", "123456789", "+22395"])
def test_short_code_is_three_to_eight_digits(text: str) -> None:
    """Anything but a run of at most eight digits is not a short code."""
    with pytest.raises(InvalidSender, match="not a short code"):
        parse_short_code(text, "US")


def test_single_digit_is_too_short_for_a_short_code() -> None:
    """One digit cannot be a short code."""
    with pytest.raises(InvalidSender, match="too short"):
        parse_short_code("1", "US")


def test_short_code_region_must_exist() -> None:
    """An unknown region is refused like it is for phone numbers."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_short_code("22395", "XX")
    assert caught.value.reason == "unknown_region"


# Sender classification.


def test_e164_sender_is_a_phone_number() -> None:
    """A number with + is a phone number sender, in E.164, sent as From."""
    sender = classify_sender("+31 6 12345678")
    assert sender.kind is SenderKind.PHONE_NUMBER
    assert sender.value == "+31612345678"
    assert sender.number is not None
    assert sender.twilio_parameter == "From"


def test_national_sender_uses_the_region() -> None:
    """A national number with a region is a phone number sender."""
    assert classify_sender("06 12345678", region="NL").value == "+31612345678"


def test_digits_in_region_are_a_short_code() -> None:
    """Up to eight digits with a region are that region's short code."""
    sender = classify_sender("22395", region="US")
    assert sender.kind is SenderKind.SHORT_CODE
    assert sender.short_code is not None
    assert sender.short_code.region == "US"


def test_short_code_without_region_is_refused() -> None:
    """A short code means nothing without its country, so the region is asked for."""
    with pytest.raises(InvalidSender, match="give the region"):
        classify_sender("22395")


def test_digits_that_are_no_short_code_are_refused() -> None:
    """Digits that are neither a short code nor a number of the region are refused."""
    with pytest.raises(InvalidSender, match="not a short code in NL"):
        classify_sender("1234567", region="NL")


def test_alphanumeric_sender_is_one_way() -> None:
    """Text with a letter is an alphanumeric ID, which recipients cannot reply to."""
    sender = classify_sender("MyShop")
    assert sender.kind is SenderKind.ALPHANUMERIC
    assert sender.value == "MyShop"
    assert sender.one_way


def test_phone_number_sender_is_two_way() -> None:
    """A phone number sender can receive replies."""
    assert not classify_sender("+31612345678").one_way


def test_messaging_service_sid_is_sent_as_messaging_service_sid() -> None:
    """MG and 32 hex digits is a Messaging Service, sent as MessagingServiceSid."""
    sender = classify_sender(SERVICE_SID)
    assert sender.kind is SenderKind.MESSAGING_SERVICE
    assert sender.twilio_parameter == "MessagingServiceSid"


def test_messaging_service_sid_accepts_upper_case_hex() -> None:
    """The spec's pattern allows A-F as well as a-f."""
    assert classify_sender(SERVICE_SID.upper()).kind is SenderKind.MESSAGING_SERVICE


def test_truncated_messaging_service_sid_is_refused() -> None:
    """An MG SID one digit short is reported as a bad SID, not as a too-long sender ID."""
    with pytest.raises(InvalidSender, match="Messaging Service SID"):
        classify_sender(SERVICE_SID[:-1])


def test_whatsapp_sender_keeps_its_prefix() -> None:
    """A whatsapp: address is a WhatsApp sender in Twilio's form."""
    sender = classify_sender(" WhatsApp:+14155238886")
    assert sender.kind is SenderKind.WHATSAPP
    assert str(sender) == "whatsapp:+14155238886"


def test_empty_sender_is_refused() -> None:
    """A blank sender is refused."""
    with pytest.raises(InvalidSender, match="empty"):
        classify_sender("  ")


def test_sender_with_forbidden_character_is_refused() -> None:
    """An alphanumeric-looking sender with a dot is refused for the dot."""
    with pytest.raises(InvalidAlphanumericSender) as caught:
        classify_sender("my.shop")
    assert caught.value.reason == "forbidden_character"


def test_number_without_country_code_is_refused() -> None:
    """A long national number without a region raises the phone number's own error."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        classify_sender("0612345678")
    assert caught.value.reason == "missing_country_code"


@given(st.text(max_size=40), st.sampled_from([None, "US", "NL"]))
def test_classification_raises_only_invalid_input(text: str, region: str | None) -> None:
    """Whatever the text, classify_sender returns a Sender or raises an InvalidInput."""
    try:
        sender = classify_sender(text, region)
    except InvalidInput as exc:
        outcome = exc.detail
    else:
        outcome = sender.value
    assert outcome


# Alphanumeric sender ID format.


@pytest.mark.parametrize("sender_id", ["A", "MyShop", "Shop 24", "A-B+C_D&E", "ABCDEFGHIJK"])
def test_valid_alphanumeric_ids_are_accepted(sender_id: str) -> None:
    """Letters, digits, space, - + _ & up to 11 characters are accepted unchanged."""
    assert validate_alphanumeric_sender(sender_id) == sender_id


def test_empty_alphanumeric_id_is_refused() -> None:
    """A blank ID is reason `empty`."""
    assert _alpha_reason(" ") == "empty"


def test_twelve_characters_is_too_long() -> None:
    """One character past the limit is reason `too_long`, giving the count."""
    with pytest.raises(InvalidAlphanumericSender, match="12 characters") as caught:
        validate_alphanumeric_sender("A" * (MAX_LENGTH + 1))
    assert caught.value.reason == "too_long"


def test_forbidden_character_is_named() -> None:
    """A forbidden character is reason `forbidden_character` and named with its code point."""
    with pytest.raises(InvalidAlphanumericSender, match=r"'\.' \(U\+002E FULL STOP\)") as caught:
        validate_alphanumeric_sender("My.Shop")
    assert caught.value.reason == "forbidden_character"


def test_accented_letter_is_forbidden() -> None:
    """Only ASCII letters are allowed: é is a forbidden character."""
    assert _alpha_reason("Caf\u00e9") == "forbidden_character"


def test_digits_only_is_refused() -> None:
    """An ID with no letter is reason `no_letter`."""
    assert _alpha_reason("12345") == "no_letter"


def test_symbols_only_is_refused() -> None:
    """Allowed symbols without a letter are still reason `no_letter`."""
    assert _alpha_reason("+-_&") == "no_letter"


# Where alphanumeric IDs may be used.


def test_table_covers_the_required_countries() -> None:
    """The table covers every EU country and GB, US, CA, AU, IN, BR, MX, ZA."""
    assert EU | {"GB", "US", "CA", "AU", "IN", "BR", "MX", "ZA"} <= set(COUNTRY_RULES)


@pytest.mark.parametrize(
    ("region", "support"),
    [
        ("NL", AlphanumericSupport.ALLOWED),
        ("GB", AlphanumericSupport.ALLOWED),
        ("US", AlphanumericSupport.NOT_SUPPORTED),
        ("CA", AlphanumericSupport.NOT_SUPPORTED),
        ("AU", AlphanumericSupport.REGISTRATION_REQUIRED),
        ("IN", AlphanumericSupport.REGISTRATION_REQUIRED),
    ],
)
def test_country_rules(region: str, support: AlphanumericSupport) -> None:
    """Key countries carry the support level their sources give."""
    assert country_rule(region).support is support


def test_country_outside_the_table_is_unknown() -> None:
    """A country the table does not cover has UNKNOWN support."""
    assert country_rule("JP").support is AlphanumericSupport.UNKNOWN


def test_table_keys_match_their_rules() -> None:
    """Each rule is filed under its own region code."""
    assert all(rule.region == region for region, rule in COUNTRY_RULES.items())


def test_alphanumeric_permitted_to_dutch_mobile_but_one_way() -> None:
    """NL takes alphanumeric IDs; the verdict says replies are impossible."""
    verdict = alphanumeric_verdict(parse("+31612345678"))
    assert verdict.permitted
    assert not verdict.replies_possible
    assert "cannot reply" in verdict.explanation


def test_alphanumeric_not_permitted_to_us_number() -> None:
    """The US does not take alphanumeric IDs."""
    verdict = alphanumeric_verdict(parse("+14155550100"))
    assert not verdict.permitted
    assert verdict.support is AlphanumericSupport.NOT_SUPPORTED


def test_registration_required_is_permitted_with_a_warning() -> None:
    """AU is permitted, and the explanation says the ID must be registered."""
    verdict = alphanumeric_verdict(parse("+61412345678"))
    assert verdict.permitted
    assert "registered" in verdict.explanation


def test_unknown_country_is_permitted_and_says_so() -> None:
    """A country outside the table is left to Twilio, and the explanation says so."""
    verdict = alphanumeric_verdict(parse("+81 90 1234 5678"))
    assert verdict.permitted
    assert "no rule" in verdict.explanation


def test_require_alphanumeric_sender_refuses_us_recipient() -> None:
    """Sending from an ID to a US number is reason `not_supported_in_country`."""
    with pytest.raises(InvalidAlphanumericSender) as caught:
        require_alphanumeric_sender("MyShop", parse("+14155550100"))
    assert caught.value.reason == "not_supported_in_country"


def test_require_alphanumeric_sender_checks_the_format_first() -> None:
    """A malformed ID is refused for its format even where IDs are allowed."""
    with pytest.raises(InvalidAlphanumericSender) as caught:
        require_alphanumeric_sender("My.Shop", parse("+31612345678"))
    assert caught.value.reason == "forbidden_character"


def test_require_alphanumeric_sender_returns_the_verdict() -> None:
    """A valid ID to a Dutch mobile returns the permitting verdict."""
    verdict = require_alphanumeric_sender("MyShop", parse("+31612345678"))
    assert verdict.region == "NL"
    assert verdict.permitted


@given(st.text(alphabet="ABCxyz019 -+_&", min_size=1, max_size=MAX_LENGTH))
def test_allowed_alphabet_with_a_letter_is_always_valid(sender_id: str) -> None:
    """Any 1-11 characters from the allowed set containing a letter are accepted."""
    assume(any(char.isalpha() for char in sender_id))
    assert validate_alphanumeric_sender(sender_id) == sender_id


@given(st.text(alphabet="ABCxyz019 -+_&", min_size=MAX_LENGTH + 1, max_size=40))
def test_anything_past_eleven_characters_is_too_long(sender_id: str) -> None:
    """Allowed characters past the eleventh are always reason `too_long`."""
    assume(sender_id.strip())
    assert _alpha_reason(sender_id) == "too_long"
