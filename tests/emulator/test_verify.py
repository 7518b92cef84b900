"""Verify verifications and checks, driven through the official twilio client: starting,
resending, the send and check limits, approval, expiry, cancellation and refused input.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.verify.v2.service import ServiceInstance

from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import call
from tests.emulator.verify_helpers import (
    LANDLINE_NL,
    LANDLINE_US,
    MOBILE,
    latest_code,
    new_service,
    on_verify,
    wrong_code,
)


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client, with the verify domain on the emulator."""
    return on_verify(twilio_client, emulator)


@pytest.fixture
def service(client: Client) -> ServiceInstance:
    """A Verify Service with the defaults."""
    return new_service(client)


def test_start_creates_a_pending_verification(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A start answers a pending VE verification with one send attempt and no code."""
    verification = service.verifications.create(to=MOBILE, channel="sms")
    assert verification.sid.startswith("VE")
    assert (verification.status, verification.valid, verification.channel) == (
        "pending",
        False,
        "sms",
    )
    assert verification.to == MOBILE
    assert verification.lookup == {}
    assert len(verification.send_code_attempts) == 1
    assert verification.send_code_attempts[0]["channel"] == "SMS"
    assert verification.send_code_attempts[0]["attempt_sid"].startswith("VL")
    assert verification.url == emulator.url(
        f"/v2/Services/{service.sid}/Verifications/{verification.sid}"
    )


def test_the_code_has_the_services_code_length(emulator: RunningEmulator, client: Client) -> None:
    """A Service with CodeLength 8 sends 8-digit codes."""
    service = new_service(client, code_length=8)
    service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    assert len(code) == 8
    assert code.isdigit()


def test_fetch_returns_the_verification(service: ServiceInstance) -> None:
    """A pending verification can be fetched by its SID."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    fetched = service.verifications(started.sid).fetch()
    assert (fetched.sid, fetched.status) == (started.sid, "pending")


def test_resend_reuses_the_verification_and_its_code(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A second start to the same To while pending keeps the SID and code, adds an attempt."""
    first = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    emulator.clock.advance(30)
    second = service.verifications.create(to=MOBILE, channel="call")
    assert second.sid == first.sid
    assert second.channel == "call"
    assert [attempt["channel"] for attempt in second.send_code_attempts] == ["SMS", "CALL"]
    assert latest_code(emulator, MOBILE) == code


def test_a_sixth_send_is_refused_with_60203(service: ServiceInstance) -> None:
    """Five sends per verification: the sixth is 429/60203 "Max send attempts reached"."""
    for _ in range(5):
        service.verifications.create(to=MOBILE, channel="sms")
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=MOBILE, channel="sms")
    assert (caught.value.status, caught.value.code) == (429, 60203)
    assert "Max send attempts reached" in caught.value.msg


def test_a_wrong_code_leaves_the_verification_pending(service: ServiceInstance) -> None:
    """A wrong code answers 2xx with status pending and valid false."""
    service.verifications.create(to=MOBILE, channel="sms")
    check = service.verification_checks.create(to=MOBILE, code="000000")
    assert (check.status, check.valid) == ("pending", False)


def test_the_right_code_approves(emulator: RunningEmulator, service: ServiceInstance) -> None:
    """The code that was sent approves the verification: status approved, valid true."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    check = service.verification_checks.create(to=MOBILE, code=latest_code(emulator, MOBILE))
    assert (check.sid, check.status, check.valid) == (started.sid, "approved", True)
    assert check.sna_attempts_error_codes == []


def test_a_check_by_verification_sid_approves(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """VerificationSid may name the verification instead of To."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    check = service.verification_checks.create(verification_sid=started.sid, code=code)
    assert check.status == "approved"


def test_an_approved_verification_is_gone(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """After approval, a fetch and a second check answer 404/20404."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    service.verification_checks.create(to=MOBILE, code=code)
    with pytest.raises(TwilioRestException) as fetched:
        service.verifications(started.sid).fetch()
    assert (fetched.value.status, fetched.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as checked:
        service.verification_checks.create(to=MOBILE, code=code)
    assert (checked.value.status, checked.value.code) == (404, 20404)


def test_a_start_after_approval_is_a_new_verification(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """Once approved, the next start to the same To makes a new verification."""
    first = service.verifications.create(to=MOBILE, channel="sms")
    service.verification_checks.create(to=MOBILE, code=latest_code(emulator, MOBILE))
    second = service.verifications.create(to=MOBILE, channel="sms")
    assert second.sid != first.sid
    assert len(second.send_code_attempts) == 1


def test_the_sixth_check_is_refused_with_60202(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """Five wrong codes lock the verification: the next check, right code or not, is 429/60202."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    for _ in range(5):
        check = service.verification_checks.create(to=MOBILE, code=wrong_code(code))
        assert check.status == "pending"
    with pytest.raises(TwilioRestException) as caught:
        service.verification_checks.create(to=MOBILE, code=code)
    assert (caught.value.status, caught.value.code) == (429, 60202)
    assert "Max check attempts reached" in caught.value.msg
    assert service.verifications(started.sid).fetch().status == "max_attempts_reached"


def test_a_locked_verification_refuses_a_new_start(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """Until it expires, a start to a locked verification's To is 429/60202."""
    service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    for _ in range(5):
        service.verification_checks.create(to=MOBILE, code=wrong_code(code))
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=MOBILE, channel="sms")
    assert (caught.value.status, caught.value.code) == (429, 60202)


def test_a_verification_expires_after_ten_minutes(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """At 10 minutes on the emulator's clock the verification is gone: checks answer 404."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    emulator.clock.advance(timedelta(minutes=10))
    with pytest.raises(TwilioRestException) as checked:
        service.verification_checks.create(to=MOBILE, code=code)
    assert (checked.value.status, checked.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as fetched:
        service.verifications(started.sid).fetch()
    assert fetched.value.status == 404


def test_a_verification_is_still_checkable_just_before_ten_minutes(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """One second before the 10 minutes are over the code still approves."""
    service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    emulator.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert service.verification_checks.create(to=MOBILE, code=code).status == "approved"


def test_a_resend_does_not_extend_the_lifetime(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """The 10 minutes count from the start: a resend at minute 9 does not move the expiry."""
    service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    emulator.clock.advance(timedelta(minutes=9))
    service.verifications.create(to=MOBILE, channel="sms")
    emulator.clock.advance(timedelta(minutes=1))
    with pytest.raises(TwilioRestException) as caught:
        service.verification_checks.create(to=MOBILE, code=code)
    assert caught.value.status == 404


def test_cancel_stops_checks_but_keeps_the_verification_fetchable(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A canceled verification can be fetched, but checking it is 404/20404."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    canceled = service.verifications(started.sid).update(status="canceled")
    assert (canceled.status, canceled.valid) == ("canceled", False)
    assert service.verifications(started.sid).fetch().status == "canceled"
    with pytest.raises(TwilioRestException) as caught:
        service.verification_checks.create(to=MOBILE, code=code)
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_a_start_after_cancel_is_a_new_verification(service: ServiceInstance) -> None:
    """Canceling frees the To: the next start makes a new verification."""
    first = service.verifications.create(to=MOBILE, channel="sms")
    service.verifications(first.sid).update(status="canceled")
    assert service.verifications.create(to=MOBILE, channel="sms").sid != first.sid


def test_approving_by_hand_needs_custom_codes(service: ServiceInstance) -> None:
    """Status=approved is refused (60200) on a Service without custom codes."""
    started = service.verifications.create(to=MOBILE, channel="sms")
    with pytest.raises(TwilioRestException) as caught:
        service.verifications(started.sid).update(status="approved")
    assert (caught.value.status, caught.value.code) == (400, 60200)


def test_a_custom_code_is_sent_and_can_be_approved_by_hand(
    emulator: RunningEmulator, client: Client
) -> None:
    """With custom codes on, the CustomCode is the code sent, and Status=approved approves."""
    service = new_service(client, custom_code_enabled=True)
    started = service.verifications.create(to=MOBILE, channel="sms", custom_code="867530")
    assert latest_code(emulator, MOBILE) == "867530"
    approved = service.verifications(started.sid).update(status="approved")
    assert (approved.status, approved.valid) == ("approved", True)
    with pytest.raises(TwilioRestException):
        service.verifications(started.sid).fetch()


def test_a_custom_code_is_ignored_without_custom_codes(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A Service without custom codes generates its own code whatever CustomCode says."""
    service.verifications.create(to=MOBILE, channel="sms", custom_code="867530")
    assert latest_code(emulator, MOBILE) != "867530"


@pytest.mark.parametrize("to", ["14155552671", "+1415555267", "+1 415 555 2671", "mail@x.io"])
def test_an_invalid_number_is_60200(service: ServiceInstance, to: str) -> None:
    """A To that is not a valid E.164 number is 400/60200 "Invalid parameter: To"."""
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=to, channel="sms")
    assert (caught.value.status, caught.value.code) == (400, 60200)
    assert "Invalid parameter: To" in caught.value.msg


@pytest.mark.parametrize("channel", ["fax", "sna", "auto"])
def test_an_unsupported_channel_is_60200(service: ServiceInstance, channel: str) -> None:
    """Channels other than sms, call, email and whatsapp are 400/60200 naming Channel."""
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=MOBILE, channel=channel)
    assert (caught.value.status, caught.value.code) == (400, 60200)
    assert "Invalid parameter: Channel" in caught.value.msg


def test_a_malformed_locale_is_60200(service: ServiceInstance) -> None:
    """Locale must look like `fr` or `pt-BR`."""
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=MOBILE, channel="sms", locale="french")
    assert caught.value.code == 60200


@pytest.mark.parametrize("landline", [LANDLINE_NL, LANDLINE_US])
def test_sms_to_a_landline_is_60205_when_the_service_skips_them(
    client: Client, landline: str
) -> None:
    """With lookups and SkipSmsToLandlines on, an SMS to a landline is 403/60205."""
    service = new_service(client, lookup_enabled=True, skip_sms_to_landlines=True)
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=landline, channel="sms")
    assert (caught.value.status, caught.value.code) == (403, 60205)
    assert "landline" in caught.value.msg


def test_a_call_to_a_landline_goes_through(client: Client) -> None:
    """Skipping SMS to landlines does not stop a voice verification to one."""
    service = new_service(client, lookup_enabled=True, skip_sms_to_landlines=True)
    verification = service.verifications.create(to=LANDLINE_NL, channel="call")
    assert verification.status == "pending"
    assert verification.lookup["carrier"]["type"] == "landline"


def test_sms_to_a_landline_is_sent_when_the_service_does_not_skip_them(
    service: ServiceInstance,
) -> None:
    """Without SkipSmsToLandlines the verification starts (the SMS then goes undelivered)."""
    assert service.verifications.create(to=LANDLINE_NL, channel="sms").status == "pending"


def test_a_check_with_a_code_of_three_characters_is_60200(service: ServiceInstance) -> None:
    """Code must be 4 to 10 characters long."""
    service.verifications.create(to=MOBILE, channel="sms")
    with pytest.raises(TwilioRestException) as caught:
        service.verification_checks.create(to=MOBILE, code="123")
    assert (caught.value.status, caught.value.code) == (400, 60200)


def test_a_check_without_to_or_verification_sid_is_60200(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A check names the verification by To or VerificationSid."""
    config = emulator.config
    reply = call(
        "POST",
        emulator.url(f"/v2/Services/{service.sid}/VerificationCheck"),
        auth=(config.account_sid, config.auth_token),
        form={"Code": "123456"},
    )
    assert (reply.status, reply.json["code"]) == (400, 60200)


def test_a_check_of_a_number_never_verified_is_404(service: ServiceInstance) -> None:
    """No verification for this To: 404/20404."""
    with pytest.raises(TwilioRestException) as caught:
        service.verification_checks.create(to=MOBILE, code="123456")
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_psd2_amount_and_payee_are_kept(client: Client) -> None:
    """A PSD2 Service keeps the transaction's Amount and Payee on the verification."""
    service = new_service(client, psd2_enabled=True)
    verification = service.verifications.create(
        to=MOBILE, channel="sms", amount="€39.99", payee="Acme Inc."
    )
    assert (verification.amount, verification.payee) == ("€39.99", "Acme Inc.")


def test_lookup_reports_a_mobile_number(client: Client) -> None:
    """With lookups on, the verification says what kind of line To is."""
    service = new_service(client, lookup_enabled=True)
    verification = service.verifications.create(to="+31612345678", channel="sms")
    assert verification.lookup["carrier"]["type"] == "mobile"
