"""Every way the send policy refuses a message, each with its own problem code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.domain import policy
from herald.domain.phone import Channel
from herald.domain.policy import (
    SEND_AT_GRACE,
    SEND_AT_HORIZON,
    WHATSAPP_WINDOW,
    SendRequest,
    TenantDefaults,
    parse_channel,
    parse_purpose,
    parse_send_at,
)
from herald.domain.problems import ProblemError
from herald.domain.records import Purpose
from tests.domain.policy_helpers import CONTENT_SID, MG, NL_MOBILE, NOW, TENANT, refused


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(policy.__all__) == [
        "MAX_BODY_LENGTH",
        "MAX_MEDIA",
        "SEND_AT_GRACE",
        "SEND_AT_HORIZON",
        "SendContext",
        "SendPlan",
        "SendRequest",
        "TenantDefaults",
        "WHATSAPP_WINDOW",
        "opted_out_problem",
        "parse_channel",
        "parse_purpose",
        "parse_send_at",
        "plan_send",
        "recheck_before_send",
        "resolve_parties",
        "whatsapp_window_closes_at",
    ]
    assert all(hasattr(policy, name) for name in policy.__all__)


# -- content -----------------------------------------------------------------------------------


def test_body_and_template_together_conflict() -> None:
    """A request gives one kind of content, not two."""
    error = refused("conflicting_content", body="Hi", template="otp", variables={"code": "1"})
    assert error.extra["fields"] == ["body", "template"]
    assert "gives body and template;" in error.detail


def test_body_and_content_sid_together_conflict() -> None:
    """A body and a Content template cannot both be the message."""
    refused("conflicting_content", channel=Channel.WHATSAPP, body="Hi", content_sid=CONTENT_SID)


def test_variables_without_template_conflict() -> None:
    """`variables` without a template would be silently dropped, so they are refused."""
    refused("conflicting_content", body="Hi", variables={"code": "1"})


def test_content_variables_without_content_sid_conflict() -> None:
    """`content_variables` belong to a Content template."""
    refused("conflicting_content", body="Hi", content_variables={"1": "x"})


def test_media_with_content_sid_conflict() -> None:
    """A Content template brings its own media."""
    refused(
        "conflicting_content",
        content_sid=CONTENT_SID,
        media_urls=("https://example.com/a.png",),
    )


def test_request_with_nothing_to_send_is_empty() -> None:
    """No body, template, content_sid or media is `body_empty`."""
    refused("body_empty", body=None)


@pytest.mark.parametrize("body", ["", "   \n\t"])
def test_blank_body_is_empty(body: str) -> None:
    """A body of nothing or only white space is `body_empty`."""
    refused("body_empty", body=body)


def test_template_that_renders_blank_is_empty() -> None:
    """A template filled in to nothing but white space is `body_empty`."""
    error = refused("body_empty", template="blank", variables={"text": " "})
    assert "Template 'blank'" in error.detail


def test_body_over_1600_characters_is_too_long() -> None:
    """1,601 characters are refused with the length and the limit."""
    error = refused("body_too_long", body="a" * 1601)
    assert (error.extra["length"], error.extra["max_length"]) == (1601, 1600)


def test_template_rendered_over_1600_characters_is_too_long() -> None:
    """The limit applies to the body after the template is filled in."""
    error = refused("body_too_long", template="otp", variables={"code": "9" * 1600})
    assert "filled in" in error.detail


def test_malformed_content_sid_is_invalid() -> None:
    """A content_sid that is not HX and 32 hex digits is refused."""
    error = refused("invalid_request", channel=Channel.WHATSAPP, content_sid="HX123")
    assert error.extra["field"] == "content_sid"


def test_more_than_ten_media_are_invalid() -> None:
    """Twilio takes at most ten media per message."""
    urls = tuple(f"https://example.com/{n}.png" for n in range(11))
    assert refused("invalid_request", media_urls=urls).extra["field"] == "media_urls"


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "/a.png", "https://", "a.png"])
def test_media_url_must_be_absolute_http(url: str) -> None:
    """Twilio fetches media over http(s) from an absolute URL."""
    refused("invalid_request", body="Hi", media_urls=(url,))


def test_unknown_template_is_refused_listing_the_known_ones() -> None:
    """An unknown template name is refused, naming the tenant's templates."""
    error = refused("unknown_template", template="shipped")
    assert "otp" in error.detail


def test_missing_template_variable_is_refused() -> None:
    """A template variable without a value is refused, never sent empty."""
    error = refused("missing_template_variable", template="hello", variables={"name": "Ana"})
    assert error.extra["missing"] == ["shop"]


def test_template_for_another_channel_is_a_mismatch() -> None:
    """A WhatsApp-only template cannot be sent by SMS."""
    refused("channel_mismatch", template="wa_only", variables={"name": "Ana"})


# -- send_at -----------------------------------------------------------------------------------


def test_send_at_well_in_the_past_is_invalid() -> None:
    """A send_at more than the grace period ago is refused, not sent late."""
    error = refused("invalid_send_at", send_at=NOW - SEND_AT_GRACE - timedelta(seconds=1))
    assert "in the past" in error.detail


def test_send_at_too_far_ahead_is_invalid() -> None:
    """A send_at more than a year ahead is refused as a likely typo."""
    refused("invalid_send_at", send_at=NOW + SEND_AT_HORIZON + timedelta(seconds=1))


def test_send_at_without_offset_is_invalid() -> None:
    """A naive send_at is refused when the request is made."""
    with pytest.raises(ProblemError) as caught:
        SendRequest(Channel.SMS, NL_MOBILE, body="x", send_at=datetime(2030, 2, 1))  # noqa: DTZ001
    assert caught.value.code == "invalid_send_at"


def test_parse_send_at_refuses_text_that_is_not_a_time() -> None:
    """`send_at` text must be ISO 8601."""
    with pytest.raises(ProblemError, match="ISO 8601") as caught:
        parse_send_at("tomorrow at nine")
    assert caught.value.code == "invalid_send_at"


def test_parse_send_at_refuses_a_time_without_offset() -> None:
    """`send_at` text must carry Z or an offset."""
    with pytest.raises(ProblemError, match="no UTC offset"):
        parse_send_at("2030-02-01T09:00:00")


def test_parse_send_at_reads_z_and_offsets() -> None:
    """`Z` and `+01:00` both give aware times."""
    assert parse_send_at("2030-02-01T08:00:00Z") == parse_send_at("2030-02-01T09:00:00+01:00")


def test_parse_channel_refuses_an_unknown_channel() -> None:
    """Only sms and whatsapp are channels."""
    with pytest.raises(ProblemError, match="sms or whatsapp"):
        parse_channel("email")


def test_parse_channel_reads_any_case() -> None:
    """Channel names are read case-insensitively."""
    assert parse_channel(" WhatsApp ") is Channel.WHATSAPP


def test_parse_purpose_refuses_an_unknown_purpose() -> None:
    """Only transactional and marketing are purposes."""
    with pytest.raises(ProblemError, match="transactional or marketing"):
        parse_purpose("promo")


def test_parse_purpose_reads_marketing() -> None:
    """`marketing` is a purpose."""
    assert parse_purpose("marketing") is Purpose.MARKETING


# -- recipient ---------------------------------------------------------------------------------


def test_text_that_is_not_a_number_is_an_invalid_recipient() -> None:
    """Letters in `to` are refused, saying so."""
    error = refused("invalid_recipient", to="call me")
    assert (error.extra["field"], error.extra["reason"]) == ("to", "not_a_number")


def test_address_of_another_scheme_is_an_invalid_recipient() -> None:
    """`tel:` and other prefixes are not addresses Herald sends to."""
    refused("invalid_recipient", to="tel:+31612345678")


def test_number_without_country_code_and_no_region_is_refused() -> None:
    """Without a tenant region, a number needs its country code."""
    refused("missing_country_code", tenant=TenantDefaults(default_sender=MG), to="0612345678")


def test_unknown_country_code_is_refused() -> None:
    """A + followed by no country code that exists is `unknown_country_code`."""
    refused("unknown_country_code", to="+999 123 4567")


def test_landline_cannot_receive_sms() -> None:
    """A Dutch landline is refused for SMS (Twilio would answer 21614)."""
    error = refused("recipient_not_mobile", to="020 123 4567")
    assert error.extra["number_type"] == "fixed_line"


def test_whatsapp_address_on_the_sms_channel_is_a_mismatch() -> None:
    """`to` with whatsapp: cannot be sent by SMS."""
    refused("channel_mismatch", to="whatsapp:+31612345678")


# -- sender ------------------------------------------------------------------------------------


def test_malformed_sender_is_invalid() -> None:
    """A `from` that is no kind of sender is `invalid_sender`."""
    error = refused("invalid_sender", from_="My*Shop")
    assert error.detail.startswith("from:")


def test_too_long_alphanumeric_sender_is_invalid() -> None:
    """An alphanumeric ID of more than 11 characters is `invalid_sender`."""
    refused("invalid_sender", from_="MyVeryLongShop")


def test_short_code_of_another_country_is_invalid() -> None:
    """A short code works only in its own country: a US one cannot reach a Dutch mobile."""
    refused("invalid_sender", from_="22395")


def test_malformed_tenant_default_sender_is_invalid() -> None:
    """A broken default sender is reported as the tenant's, not the request's."""
    error = refused("invalid_sender", tenant=TenantDefaults(default_sender="My*Shop"))
    assert "default sender" in error.detail


def test_whatsapp_sender_on_the_sms_channel_is_a_mismatch() -> None:
    """A whatsapp: sender cannot send SMS."""
    refused("channel_mismatch", from_="whatsapp:+14155238886")


@pytest.mark.parametrize("sender", ["MyShop", "22395"])
def test_alphanumeric_or_short_code_on_whatsapp_is_a_mismatch(sender: str) -> None:
    """WhatsApp messages come from a WhatsApp number or a Messaging Service."""
    refused(
        "channel_mismatch",
        channel=Channel.WHATSAPP,
        to="+14155550100",
        from_=sender,
        last_inbound=NOW,
    )


def test_no_sender_anywhere_is_required() -> None:
    """Without from and without tenant defaults there is no sender."""
    refused("sender_required", tenant=TenantDefaults(default_region="NL"))


def test_no_sender_fit_for_whatsapp_is_required() -> None:
    """An alphanumeric default cannot send WhatsApp; with no service, nothing can."""
    refused(
        "sender_required",
        tenant=TenantDefaults(default_sender="MyShop"),
        channel=Channel.WHATSAPP,
        last_inbound=NOW,
    )


def test_alphanumeric_sender_to_the_us_is_not_allowed() -> None:
    """The US does not accept alphanumeric sender IDs."""
    error = refused("sender_not_allowed", to="+1 415 555 0100", from_="MyShop")
    assert error.extra["region"] == "US"


def test_alphanumeric_default_sender_to_canada_is_not_allowed() -> None:
    """The rule applies to the tenant's default sender too."""
    refused("sender_not_allowed", tenant=TenantDefaults(default_sender="MyShop"), to="+16135550123")


def test_alphanumeric_sender_where_a_reply_is_expected_is_refused() -> None:
    """Nobody can answer an alphanumeric sender, so a request expecting a reply is refused."""
    refused("sender_cannot_receive_replies", from_="MyShop", reply_expected=True)


# -- the recipient's state ---------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_opted_out_recipient_is_refused_whatever_the_purpose(purpose: Purpose) -> None:
    """STOP stops transactional and marketing messages alike on that channel."""
    error = refused("recipient_opted_out", opted_out=True, purpose=purpose)
    assert (error.extra["address"], error.extra["channel"]) == (NL_MOBILE, "sms")


def test_opted_out_whatsapp_recipient_is_refused_even_with_a_template() -> None:
    """An opt-out also stops approved WhatsApp templates."""
    refused(
        "recipient_opted_out",
        channel=Channel.WHATSAPP,
        content_sid=CONTENT_SID,
        opted_out=True,
    )


def test_whatsapp_free_form_to_someone_who_never_wrote_is_refused() -> None:
    """Without an inbound message there is no window: only a template may be sent."""
    error = refused("whatsapp_window_closed", channel=Channel.WHATSAPP)
    assert "content_sid" in error.detail
    assert error.extra["window_closed_at"] is None


def test_whatsapp_free_form_after_the_window_is_refused() -> None:
    """Free-form text 24 hours after the customer's last message is refused."""
    error = refused(
        "whatsapp_window_closed",
        channel=Channel.WHATSAPP,
        last_inbound=NOW - WHATSAPP_WINDOW - timedelta(minutes=1),
    )
    assert error.extra["window_closed_at"] == "2030-01-31T11:59:00.000Z"


def test_whatsapp_window_is_closed_at_exactly_24_hours() -> None:
    """The window is open strictly before 24 hours have passed."""
    refused("whatsapp_window_closed", channel=Channel.WHATSAPP, last_inbound=NOW - WHATSAPP_WINDOW)


def test_whatsapp_template_rendered_by_herald_is_free_form() -> None:
    """A tenant template becomes a body, which WhatsApp treats as free-form text."""
    refused(
        "whatsapp_window_closed",
        channel=Channel.WHATSAPP,
        template="otp",
        variables={"code": "1"},
    )


def test_whatsapp_scheduled_after_the_window_closes_is_refused() -> None:
    """The window is checked at send_at, not when the request arrives."""
    error = refused(
        "whatsapp_window_closed",
        channel=Channel.WHATSAPP,
        last_inbound=NOW - timedelta(hours=23),
        send_at=NOW + timedelta(hours=2),
    )
    assert "before 2030-01-31T14:00:00.000Z" in error.detail


def test_refusal_order_reports_content_before_recipient() -> None:
    """With several faults, the request's own shape is reported first."""
    refused("conflicting_content", to="not a number", body="x", template="otp")


def test_refusal_order_reports_opt_out_before_the_window() -> None:
    """An opted-out WhatsApp recipient outside the window hears about the opt-out."""
    refused("recipient_opted_out", channel=Channel.WHATSAPP, opted_out=True)


def test_tenant_with_unknown_region_is_a_configuration_error() -> None:
    """A tenant's default region must be a country Herald knows."""
    with pytest.raises(Exception, match="default region") as caught:
        TenantDefaults(default_region="XX")
    assert type(caught.value).__name__ == "ConfigurationError"


def test_context_requires_an_aware_now() -> None:
    """`now` without a zone is a bug in the caller."""
    with pytest.raises(ValueError, match="aware"):
        policy.SendContext(TENANT, datetime(2030, 1, 1))  # noqa: DTZ001


def test_now_may_be_in_any_zone() -> None:
    """`now` is compared as an instant, whatever its offset."""
    assert policy.SendContext(TENANT, NOW.astimezone(UTC)).now == NOW
