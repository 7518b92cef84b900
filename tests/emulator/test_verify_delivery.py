"""How Verify codes reach the simulated recipient (SMS, WhatsApp, call, e-mail), the control
API's list of codes, the events, and the code generator.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.verify.v2.service import ServiceInstance

from herald.emulator import EmulatorConfig, EmulatorState, ManualClock
from herald.emulator.verify_delivery import SMS_SENDER, VERIFY_NUMBER
from herald.emulator.verify_models import VerifyRuntime, codes_match, verify_runtime
from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import control
from tests.emulator.message_helpers import wait_until
from tests.emulator.verify_helpers import MOBILE, codes, latest_code, new_service, on_verify

EMAIL = "ada@example.com"


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client, with the verify domain on the emulator."""
    return on_verify(twilio_client, emulator)


@pytest.fixture
def service(client: Client) -> ServiceInstance:
    """A Verify Service named "Shop"."""
    return new_service(client)


def phone_messages(emulator: RunningEmulator, number: str) -> list[dict[str, object]]:
    """The conversation of a simulated phone, oldest first."""
    path = "/_emulator/phones/" + number.replace("+", "%2B") + "/messages"
    messages: list[dict[str, object]] = control(emulator, "GET", path).json["messages"]
    return messages


def test_an_sms_code_reaches_the_phone(emulator: RunningEmulator, service: ServiceInstance) -> None:
    """The phone receives Twilio's default text from Verify's short code."""
    service.verifications.create(to=MOBILE, channel="sms")
    code = latest_code(emulator, MOBILE)
    [message] = phone_messages(emulator, MOBILE)
    assert message["body"] == f"Your Shop verification code is: {code}"
    assert (message["from"], message["channel"], message["direction"]) == (
        SMS_SENDER,
        "sms",
        "received",
    )


def test_the_do_not_share_warning_is_appended_to_sms(
    emulator: RunningEmulator, client: Client
) -> None:
    """A Service with the warning on adds it after the code."""
    service = new_service(client, do_not_share_warning_enabled=True)
    service.verifications.create(to=MOBILE, channel="sms")
    [message] = phone_messages(emulator, MOBILE)
    assert str(message["body"]).endswith(
        ". Don't share this code with anyone; our employees will never ask for the code"
    )


def test_a_custom_friendly_name_replaces_the_services_name(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """CustomFriendlyName is the name the message shows."""
    service.verifications.create(to=MOBILE, channel="sms", custom_friendly_name="Acme")
    [message] = phone_messages(emulator, MOBILE)
    assert str(message["body"]).startswith("Your Acme verification code is: ")


def test_verify_messages_are_not_in_the_accounts_messages(
    emulator: RunningEmulator, client: Client, service: ServiceInstance
) -> None:
    """As on Twilio, a Verify SMS is not one of the account's Messages."""
    service.verifications.create(to=MOBILE, channel="sms")
    assert len(phone_messages(emulator, MOBILE)) == 1
    assert client.messages.list() == []


def test_a_resend_sends_the_same_code_again(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """Each send of one verification delivers its one code."""
    service.verifications.create(to=MOBILE, channel="sms")
    service.verifications.create(to=MOBILE, channel="sms")
    bodies = {message["body"] for message in phone_messages(emulator, MOBILE)}
    assert len(phone_messages(emulator, MOBILE)) == 2
    assert len(bodies) == 1


def test_a_whatsapp_code_is_delivered_outside_the_window(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A WhatsApp code is a template: it is delivered though the customer never wrote."""
    service.verifications.create(to=MOBILE, channel="whatsapp")
    [message] = phone_messages(emulator, MOBILE)
    assert (message["channel"], message["to"]) == ("whatsapp", f"whatsapp:{MOBILE}")
    assert message["from"] == f"whatsapp:{VERIFY_NUMBER}"
    emulator.clock.advance(5)
    wait_until(
        lambda: phone_messages(emulator, MOBILE)[0]["status"] == "delivered",
        "the WhatsApp code to be delivered",
    )


def test_a_whatsapp_code_comes_from_the_services_sender(
    emulator: RunningEmulator, client: Client
) -> None:
    """Whatsapp.From of the Service is the sender of its WhatsApp codes."""
    service = new_service(client, whatsapp_from="+14155550123")
    service.verifications.create(to=MOBILE, channel="whatsapp")
    [message] = phone_messages(emulator, MOBILE)
    assert message["from"] == "whatsapp:+14155550123"


def test_a_call_is_recorded_with_the_spoken_code(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """A voice code is a call record with the sentence read out; the phone gets no message."""
    verification = service.verifications.create(to=MOBILE, channel="call")
    [delivery] = codes(emulator, MOBILE)
    digits = ", ".join(delivery["code"])
    assert delivery["text"] == f"Your Shop verification code is {digits}."
    assert delivery["call_sid"].startswith("CA")
    assert (delivery["channel"], delivery["verification_sid"]) == ("call", verification.sid)
    assert phone_messages(emulator, MOBILE) == []


def test_an_email_code_lands_in_the_mailbox(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """An e-mail code is recorded with its subject and text."""
    verification = service.verifications.create(to=EMAIL, channel="email")
    assert verification.send_code_attempts[0]["channel"] == "EMAIL"
    [delivery] = codes(emulator, EMAIL)
    assert delivery["subject"] == "Shop verification code"
    assert delivery["text"] == f"Your Shop verification code is: {delivery['code']}"


def test_an_email_code_checks_by_address_in_any_case(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """The address is matched without regard to letter case."""
    service.verifications.create(to=EMAIL, channel="email")
    check = service.verification_checks.create(to=EMAIL.upper(), code=latest_code(emulator, EMAIL))
    assert check.status == "approved"


def test_an_email_channel_needs_an_address(service: ServiceInstance) -> None:
    """A phone number is not a To for the email channel: 400/60200."""
    with pytest.raises(TwilioRestException) as caught:
        service.verifications.create(to=MOBILE, channel="email")
    assert caught.value.code == 60200


def test_codes_are_listed_newest_first(emulator: RunningEmulator, service: ServiceInstance) -> None:
    """The control API lists one entry per send, the latest first."""
    service.verifications.create(to=MOBILE, channel="sms")
    emulator.clock.advance(1)
    service.verifications.create(to=MOBILE, channel="call")
    assert [entry["channel"] for entry in codes(emulator, MOBILE)] == ["call", "sms"]


def test_codes_take_an_unencoded_plus(emulator: RunningEmulator, service: ServiceInstance) -> None:
    """`?to=+1…` written as is (the + arrives as a space) finds the number."""
    service.verifications.create(to=MOBILE, channel="sms")
    reply = control(emulator, "GET", "/_emulator/verify/codes?to=" + MOBILE)
    assert len(reply.json["codes"]) == 1


def test_codes_filter_by_account_and_limit(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """`account_sid` narrows the list and `limit` keeps the newest N."""
    service.verifications.create(to=MOBILE, channel="sms")
    service.verifications.create(to="+14155552672", channel="sms")
    sid = emulator.config.account_sid
    reply = control(emulator, "GET", f"/_emulator/verify/codes?account_sid={sid}&limit=1")
    assert [entry["to"] for entry in reply.json["codes"]] == ["+14155552672"]
    other = control(emulator, "GET", "/_emulator/verify/codes?account_sid=AC" + "1" * 32)
    assert other.json["codes"] == []


def test_codes_refuse_a_bad_limit(emulator: RunningEmulator) -> None:
    """A limit outside 1-1000 is a 400 that says what to give."""
    reply = control(emulator, "GET", "/_emulator/verify/codes?limit=0")
    assert (reply.status, reply.json["code"]) == (400, 20001)
    assert "1 to 1000" in reply.json["message"]


async def test_a_send_publishes_the_code_and_the_message(
    emulator: RunningEmulator, client: Client
) -> None:
    """The event bus carries `verify.code_sent` and the SMS's `message.created`."""
    subscription = emulator.state.events.subscribe(
        frozenset({"verify.code_sent", "message.created"})
    )
    new_service(client).verifications.create(to=MOBILE, channel="sms")
    first, second = subscription.pop(), subscription.pop()
    assert first is not None
    assert second is not None
    assert [first.type, second.type] == ["message.created", "verify.code_sent"]
    assert second.data["delivery"]["message_sid"] == first.data["message"]["sid"]


async def test_an_approval_publishes_the_status_change(
    emulator: RunningEmulator, service: ServiceInstance
) -> None:
    """`verify.status` says a verification went from pending to approved."""
    service.verifications.create(to=MOBILE, channel="sms")
    subscription = emulator.state.events.subscribe(frozenset({"verify.status"}))
    service.verification_checks.create(to=MOBILE, code=latest_code(emulator, MOBILE))
    event = subscription.pop()
    assert event is not None
    assert event.data["previous_status"] == "pending"
    assert event.data["verification"]["status"] == "approved"


def test_a_seeded_emulator_draws_the_same_codes_after_a_reset() -> None:
    """With a seed, codes repeat run after run; a reset restarts the sequence."""
    state = EmulatorState(EmulatorConfig(seed=7), ManualClock())
    first = [verify_runtime(state).new_code(6) for _ in range(3)]
    state.reset()
    assert [verify_runtime(state).new_code(6) for _ in range(3)] == first


def test_different_seeds_draw_different_codes() -> None:
    """The seed decides the codes."""
    one = VerifyRuntime(seed=1, capacity=10)
    two = VerifyRuntime(seed=2, capacity=10)
    assert [one.new_code(10) for _ in range(3)] != [two.new_code(10) for _ in range(3)]


def test_unseeded_codes_are_digits_of_the_asked_length() -> None:
    """Without a seed, codes come from `secrets`, still all digits."""
    code = VerifyRuntime(seed=None, capacity=10).new_code(10)
    assert len(code) == 10
    assert code.isdigit()


def test_codes_match_the_exact_code() -> None:
    """The comparison accepts the code itself."""
    assert codes_match("123456", "123456")


@pytest.mark.parametrize("given", ["123457", "12345", "1234567", ""])
def test_codes_match_nothing_else(given: str) -> None:
    """Another code, a prefix, a longer code or nothing is refused."""
    assert not codes_match("123456", given)
