"""What the send policy accepts: normalised parties, the body as sent, segments and warnings."""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone

import pytest

from herald.domain.lifecycle import Status
from herald.domain.parties import resolve_recipient
from herald.domain.phone import Channel
from herald.domain.policy import (
    SEND_AT_GRACE,
    WHATSAPP_WINDOW,
    SendPlan,
    SendRequest,
    TenantDefaults,
    recheck_before_send,
    resolve_parties,
    whatsapp_window_closes_at,
)
from herald.domain.problems import ProblemError
from herald.domain.records import Purpose
from herald.domain.send_warnings import WarningCode
from herald.domain.senders import SenderKind
from tests.domain.policy_helpers import CONTENT_SID, MG, NL_MOBILE, NL_SENDER, NOW, TENANT, plan

APOSTROPHE = "\u2019"  # RIGHT SINGLE QUOTATION MARK: not GSM-7, Smart Encoding makes it '


def _codes(result: SendPlan) -> list[WarningCode]:
    return [warning.code for warning in result.warnings]


def test_recipient_is_normalised_with_the_tenant_region() -> None:
    """A national number is read in the tenant's default region and written in E.164."""
    assert plan(to="06 1234 5678").to == NL_MOBILE


def test_recipient_with_country_code_ignores_the_region() -> None:
    """A number with + keeps its own country."""
    result = plan(to="+1 (415) 555-0100", from_=MG)
    assert (result.to, result.recipient.region) == ("+14155550100", "US")


def test_whatsapp_recipient_gets_the_whatsapp_prefix() -> None:
    """On WhatsApp the recipient is written `whatsapp:+E164`."""
    assert plan(channel=Channel.WHATSAPP, to="06 12345678", last_inbound=NOW).to == (
        "whatsapp:+31612345678"
    )


def test_whatsapp_recipient_may_be_given_with_its_prefix() -> None:
    """`whatsapp:` in `to` is accepted on the WhatsApp channel, in any case."""
    result = plan(channel=Channel.WHATSAPP, to="WhatsApp: +31612345678", last_inbound=NOW)
    assert result.to == "whatsapp:+31612345678"


def test_whatsapp_recipient_may_be_a_landline() -> None:
    """WhatsApp accounts can live on landlines, so only SMS refuses them."""
    result = plan(channel=Channel.WHATSAPP, to="020 123 4567", last_inbound=NOW)
    assert result.to == "whatsapp:+31201234567"


def test_default_sender_is_used_without_from() -> None:
    """A request without `from` is sent from the tenant's default sender."""
    sender = plan().sender
    assert (sender.kind, sender.value) == (SenderKind.PHONE_NUMBER, NL_SENDER)


def test_from_wins_over_the_default() -> None:
    """`from` in the request replaces the tenant's default."""
    assert plan(from_=MG).sender.kind is SenderKind.MESSAGING_SERVICE


def test_default_number_sends_whatsapp_from_its_whatsapp_address() -> None:
    """A default phone number becomes `whatsapp:+E164` on the WhatsApp channel."""
    result = plan(channel=Channel.WHATSAPP, last_inbound=NOW)
    assert (result.sender.kind, result.sender.value) == (
        SenderKind.WHATSAPP,
        f"whatsapp:{NL_SENDER}",
    )


def test_messaging_service_is_used_when_the_default_cannot_send_whatsapp() -> None:
    """An alphanumeric default falls through to the tenant's Messaging Service on WhatsApp."""
    tenant = TenantDefaults(default_sender="MyShop", messaging_service_sid=MG)
    result = plan(tenant=tenant, channel=Channel.WHATSAPP, last_inbound=NOW)
    assert result.sender.value == MG


def test_messaging_service_is_used_when_there_is_no_default() -> None:
    """Without a default sender, the tenant's Messaging Service sends."""
    result = plan(tenant=TenantDefaults(default_region="NL", messaging_service_sid=MG))
    assert result.sender.twilio_parameter == "MessagingServiceSid"


def test_short_code_of_the_recipients_country_is_accepted() -> None:
    """A US short code sends to a US mobile."""
    result = plan(to="+14155550100", from_="22395")
    assert result.sender.kind is SenderKind.SHORT_CODE


def test_body_is_sent_as_written() -> None:
    """The body is not trimmed or altered."""
    assert plan(body="  Hello  ").body == "  Hello  "


def test_template_is_rendered_into_the_body() -> None:
    """A template request is sent as the filled-in text."""
    result = plan(template="otp", variables={"code": "123456"})
    assert (result.body, result.template) == ("Your code is 123456.", "otp")


def test_content_template_has_no_body_of_its_own() -> None:
    """A Content template's text is rendered by Twilio, so the plan has no body."""
    result = plan(channel=Channel.WHATSAPP, content_sid=CONTENT_SID, content_variables={"1": "x"})
    assert (result.body, result.content_sid, dict(result.content_variables)) == (
        None,
        CONTENT_SID,
        {"1": "x"},
    )


def test_content_template_may_be_sent_outside_the_whatsapp_window() -> None:
    """An approved template is allowed to someone who never wrote."""
    assert plan(channel=Channel.WHATSAPP, content_sid=CONTENT_SID).channel is Channel.WHATSAPP


def test_whatsapp_free_form_just_inside_the_window_is_accepted() -> None:
    """A second before 24 hours have passed, free-form text is allowed."""
    last = NOW - WHATSAPP_WINDOW + timedelta(seconds=1)
    assert plan(channel=Channel.WHATSAPP, last_inbound=last).body == "Hello"


def test_media_alone_is_a_message() -> None:
    """Media without text is sent with no body and no segments."""
    result = plan(media_urls=("https://example.com/a.png",))
    assert (result.body, result.segments, result.media_urls) == (
        None,
        None,
        ("https://example.com/a.png",),
    )


def test_blank_body_with_media_is_media_alone() -> None:
    """An empty caption on a picture is no body at all."""
    assert plan(body="", media_urls=("https://example.com/a.png",)).body is None


def test_gsm7_body_is_analysed() -> None:
    """An SMS body comes with its encoding and segment count."""
    result = plan(body="a" * 161)
    assert (result.encoding, result.segments) == ("GSM-7", 2)


def test_whatsapp_body_has_no_segments() -> None:
    """WhatsApp messages are not split into segments."""
    result = plan(channel=Channel.WHATSAPP, last_inbound=NOW)
    assert (result.segment_info, result.encoding, result.segments) == (None, None, None)


def test_ucs2_body_is_warned_about_with_its_culprits() -> None:
    """A body forced into UCS-2 draws a warning naming the characters and the saving."""
    result = plan(body=f"Don{APOSTROPHE}t miss it " + "a" * 60)
    (warning,) = (w for w in result.warnings if w.code is WarningCode.UCS2_ENCODING)
    assert warning.data["characters"] == [APOSTROPHE]
    assert warning.data["suggestions"] == [{"character": APOSTROPHE, "replacement": "'"}]
    assert warning.data["segments_saved"] == 1


def test_gsm7_body_draws_no_encoding_warning() -> None:
    """A plain GSM-7 body has nothing to warn about."""
    assert plan(body="Hello").warnings == ()


def test_body_of_many_segments_is_warned_about() -> None:
    """More than ten segments draws a warning: each is billed."""
    result = plan(body="a" * 1600)
    assert WarningCode.MANY_SEGMENTS in _codes(result)


def test_long_unicode_body_is_warned_about() -> None:
    """A UCS-2 body of more than 1,600 UTF-16 units may still hit Twilio's limit."""
    result = plan(body="😀" * 900)
    assert WarningCode.LONG_UNICODE_BODY in _codes(result)


def test_unused_template_variables_are_warned_about() -> None:
    """Variables a template ignores are accepted but named."""
    result = plan(template="otp", variables={"code": "1", "name": "Ana"})
    (warning,) = result.warnings
    assert (warning.code, warning.data["variables"]) == (WarningCode.UNUSED_VARIABLES, ["name"])


def test_alphanumeric_sender_is_warned_about_as_one_way() -> None:
    """An alphanumeric sender is accepted where allowed, with a one-way warning."""
    result = plan(from_="MyShop")
    assert result.sender.kind is SenderKind.ALPHANUMERIC
    assert _codes(result) == [WarningCode.ONE_WAY_SENDER]


def test_one_way_warning_for_marketing_says_another_opt_out_is_required() -> None:
    """Marketing from a one-way sender must offer another way to opt out."""
    (warning,) = plan(from_="MyShop", purpose=Purpose.MARKETING).warnings
    assert "required for marketing" in warning.detail


def test_alphanumeric_sender_where_registration_is_required_is_warned_about() -> None:
    """Australia takes only registered IDs: the plan says so."""
    result = plan(from_="MyShop", to="+61412345678")
    assert WarningCode.SENDER_REGISTRATION_REQUIRED in _codes(result)


def test_alphanumeric_sender_to_an_uncharted_country_is_warned_about() -> None:
    """Where Herald has no rule, the message goes with a warning that Twilio decides."""
    result = plan(from_="MyShop", to="+819012345678")
    (warning,) = (w for w in result.warnings if w.code is WarningCode.SENDER_COUNTRY_UNKNOWN)
    assert "sender IDs to JP;" in warning.detail


def test_future_send_at_schedules_the_message_in_utc() -> None:
    """A future send_at is kept, in UTC, and the message starts as scheduled."""
    at = (NOW + timedelta(hours=3)).astimezone(timezone(timedelta(hours=1)))
    result = plan(send_at=at)
    assert result.send_at == NOW + timedelta(hours=3)
    assert result.send_at is not None
    assert result.send_at.tzinfo is UTC
    assert result.initial_status is Status.SCHEDULED


def test_message_without_send_at_is_accepted_for_now() -> None:
    """Without send_at the message starts as accepted, to go at once."""
    result = plan()
    assert (result.send_at, result.initial_status) == (None, Status.ACCEPTED)


def test_send_at_just_passed_means_now_with_a_warning() -> None:
    """A send_at within the grace period in the past is sent now, with a warning."""
    result = plan(send_at=NOW - SEND_AT_GRACE)
    assert result.send_at is None
    assert _codes(result) == [WarningCode.SEND_AT_PAST]


def test_purpose_and_reply_expected_are_kept() -> None:
    """The plan records why the message is sent and whether a reply is wanted."""
    result = plan(purpose=Purpose.MARKETING, reply_expected=True)
    assert (result.purpose, result.reply_expected) == (Purpose.MARKETING, True)


def test_plan_as_dict_is_json() -> None:
    """The preview form of a plan is JSON-ready and names its parts."""
    shown = plan(body=f"Don{APOSTROPHE}t", send_at=NOW + timedelta(days=1)).as_dict()
    assert json.loads(json.dumps(shown)) == shown
    assert (shown["to"], shown["from"], shown["status"], shown["send_at"]) == (
        NL_MOBILE,
        NL_SENDER,
        "scheduled",
        "2030-02-01T12:00:00.000Z",
    )
    assert shown["warnings"][0]["code"] == "ucs2_encoding"


def test_request_freezes_its_mappings() -> None:
    """Changing the caller's dict afterwards does not change the request."""
    variables = {"code": "1"}
    request = SendRequest(Channel.SMS, NL_MOBILE, template="otp", variables=variables)
    variables["code"] = "2"
    assert request.variables["code"] == "1"


def test_tenant_region_is_normalised() -> None:
    """A lower-case region is stored upper-case."""
    assert TenantDefaults(default_region=" nl ").default_region == "NL"


def test_resolve_parties_gives_what_the_caller_looks_state_up_by() -> None:
    """The parties are the normalised recipient and sender, before any state is known."""
    parties = resolve_parties(SendRequest(Channel.WHATSAPP, "0612345678", body="x"), TENANT)
    assert (parties.channel, parties.to, parties.sender.value) == (
        Channel.WHATSAPP,
        "whatsapp:+31612345678",
        f"whatsapp:{NL_SENDER}",
    )


def test_recheck_refuses_a_recipient_who_opted_out_meanwhile() -> None:
    """The worker's check at send time catches a STOP that arrived after acceptance."""
    parties = resolve_parties(SendRequest(Channel.SMS, NL_MOBILE, body="x"), TENANT)
    with pytest.raises(ProblemError) as caught:
        recheck_before_send(
            parties, opted_out=True, free_form=True, whatsapp_last_inbound_at=None, at=NOW
        )
    assert caught.value.code == "recipient_opted_out"


def test_recheck_passes_an_sms_to_a_recipient_still_subscribed() -> None:
    """SMS has no window: a subscribed recipient passes the send-time check."""
    parties = resolve_parties(SendRequest(Channel.SMS, NL_MOBILE, body="x"), TENANT)
    recheck_before_send(
        parties, opted_out=False, free_form=True, whatsapp_last_inbound_at=None, at=NOW
    )


def test_window_closes_24_hours_after_the_last_message() -> None:
    """The window's end is the last inbound message plus 24 hours, or none without one."""
    assert whatsapp_window_closes_at(NOW) == NOW + timedelta(hours=24)
    assert whatsapp_window_closes_at(None) is None


def test_resolve_recipient_reads_national_numbers_in_the_region() -> None:
    """`resolve_recipient` is the policy's reading of `to`, usable on its own."""
    assert resolve_recipient(Channel.SMS, "06-12345678", "NL").twilio_form == NL_MOBILE
