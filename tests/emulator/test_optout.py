"""Twilio's own keyword handling over real HTTP: STOP blocks sends with 21610 until START, HELP
is answered, scope is the number or its Messaging Service, and only English on US/CA numbers.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.optout import HELP_REPLY, OPT_IN_REPLY, OPT_OUT_REPLY
from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import control, inbound, seed
from tests.emulator.message_helpers import own_number

PHONE = "+14155552671"


@pytest.fixture
def number(emulator: RunningEmulator) -> str:
    """A US number of the main account, with no webhook."""
    phone_number: str = seed(emulator)["numbers"][0]["phone_number"]
    return phone_number


def send(client: Client, from_: str, to: str = PHONE) -> str:
    """Send a message; return its status (raises on a refusal)."""
    return str(client.messages.create(to=to, from_=from_, body="Deal of the day").status)


def test_stop_blocks_later_sends_with_21610(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """After STOP, a send from that number to that phone is refused with 400/21610."""
    inbound(emulator, from_=PHONE, to=number, body="STOP")
    with pytest.raises(TwilioRestException) as refused:
        send(twilio_client, number)
    assert (refused.value.status, refused.value.code) == (400, 21610)


def test_stop_is_confirmed_with_twilio_reply(emulator: RunningEmulator, number: str) -> None:
    """Twilio's standard unsubscribe text is sent to the phone."""
    result = inbound(emulator, from_=PHONE, to=number, body=" stop ").json
    assert result["keyword"] == {"kind": "opt_out", "keyword": "STOP", "auto_reply": OPT_OUT_REPLY}
    assert [(r["to"], r["body"]) for r in result["replies"]] == [(PHONE, OPT_OUT_REPLY)]


def test_start_lifts_the_block(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """START after STOP lets sends through again and is confirmed."""
    inbound(emulator, from_=PHONE, to=number, body="UNSUBSCRIBE")
    result = inbound(emulator, from_=PHONE, to=number, body="start").json
    assert result["replies"][0]["body"] == OPT_IN_REPLY
    assert send(twilio_client, number) == "queued"


def test_help_is_answered(emulator: RunningEmulator, number: str) -> None:
    """HELP gets Twilio's help text."""
    result = inbound(emulator, from_=PHONE, to=number, body="Help").json
    assert [reply["body"] for reply in result["replies"]] == [HELP_REPLY]


def test_help_is_not_answered_while_opted_out(emulator: RunningEmulator, number: str) -> None:
    """Someone who opted out gets no help text."""
    inbound(emulator, from_=PHONE, to=number, body="STOP")
    assert inbound(emulator, from_=PHONE, to=number, body="INFO").json["replies"] == []


def test_only_whole_message_keywords_count(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """ "STOP PLEASE" is an ordinary message: nothing is blocked, nothing auto-replied."""
    result = inbound(emulator, from_=PHONE, to=number, body="STOP PLEASE").json
    assert (result["keyword"], result["replies"]) == (None, [])
    assert send(twilio_client, number) == "queued"


def test_other_languages_are_not_twilio_keywords(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """Herald's Dutch UIT is not one of Twilio's keywords: no block."""
    assert inbound(emulator, from_=PHONE, to=number, body="UIT").json["keyword"] is None
    assert send(twilio_client, number) == "queued"


def test_numbers_outside_us_and_canada_are_not_handled(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """STOP to a Dutch number records nothing and sends no reply."""
    dutch = seed(emulator, country="NL")["numbers"][0]["phone_number"]
    phone = "+31612345678"
    result = inbound(emulator, from_=phone, to=dutch, body="STOP").json
    assert (result["keyword"], result["replies"]) == (None, [])
    assert control(emulator, "GET", "/_emulator/opt-outs").json["opt_outs"] == []


def test_opt_out_is_scoped_to_the_number(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """STOP to one number leaves the account's other numbers free to send."""
    other = "+14155550100"
    own_number(emulator.state, emulator.config.account_sid, other)
    inbound(emulator, from_=PHONE, to=number, body="STOP")
    assert send(twilio_client, other) == "queued"


def test_opt_out_through_a_service_covers_the_whole_service(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """STOP to one number of a Service blocks sends through the Service with 21610."""
    seeded = seed(emulator, numbers=2, messaging_service={"friendly_name": "Shop"})
    first = seeded["numbers"][0]["phone_number"]
    inbound(emulator, from_=PHONE, to=first, body="STOP")
    with pytest.raises(TwilioRestException) as refused:
        twilio_client.messages.create(
            to=PHONE, messaging_service_sid=seeded["messaging_service"]["sid"], body="Deal"
        )
    assert refused.value.code == 21610


def test_opt_outs_are_listed(emulator: RunningEmulator, number: str) -> None:
    """GET /_emulator/opt-outs lists the recorded opt-out."""
    inbound(emulator, from_=PHONE, to=number, body="STOP")
    listed = control(emulator, "GET", "/_emulator/opt-outs").json["opt_outs"]
    assert listed == [
        {"account_sid": emulator.config.account_sid, "scope": number, "recipient": PHONE}
    ]


def test_stop_still_reaches_the_application(emulator: RunningEmulator) -> None:
    """The STOP message itself is stored and reported like any inbound message."""
    number = seed(emulator)["numbers"][0]["phone_number"]
    result = inbound(emulator, from_=PHONE, to=number, body="STOP").json
    assert (result["message"]["body"], result["message"]["direction"]) == ("STOP", "inbound")
