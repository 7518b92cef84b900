"""Simulated phones over real HTTP: who received and sent what, each conversation in order, the
seed shortcut, and the event bus behind the event stream.
"""

from __future__ import annotations

import asyncio

import pytest
from twilio.rest import Client

from herald.emulator.clock import ManualClock
from herald.emulator.events import EventBus
from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import control, inbound, seed

PHONE = "+14155552671"


@pytest.fixture
def number(emulator: RunningEmulator) -> str:
    """A US number of the main account."""
    phone_number: str = seed(emulator)["numbers"][0]["phone_number"]
    return phone_number


def test_phones_list_counts_both_directions(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """A phone that was sent one message and wrote one shows received 1 and sent 1."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Your code is 1234")
    inbound(emulator, from_=PHONE, to=number, body="Thanks")
    phones = control(emulator, "GET", "/_emulator/phones").json["phones"]
    assert [(p["phone_number"], p["received"], p["sent"]) for p in phones] == [(PHONE, 1, 1)]
    assert phones[0]["channels"] == ["sms"]


def test_phones_list_is_empty_on_a_fresh_emulator(emulator: RunningEmulator) -> None:
    """No messages, no phones."""
    assert control(emulator, "GET", "/_emulator/phones").json == {"phones": []}


def test_conversation_is_ordered_with_segments_and_encoding(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """The phone's messages come oldest first, each with direction, status and encoding."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Hello")
    inbound(emulator, from_=PHONE, to=number, body="Grüße 👋")
    reply = control(emulator, "GET", "/_emulator/phones/%2B14155552671/messages").json
    views = [
        (m["direction"], m["body"], m["encoding"], m["num_segments"]) for m in reply["messages"]
    ]
    assert views == [("received", "Hello", "GSM-7", 1), ("sent", "Grüße 👋", "UCS-2", 1)]
    assert reply["messages"][0]["status"] == "queued"


def test_conversation_of_an_invalid_number_is_a_400(emulator: RunningEmulator) -> None:
    """A number not in E.164 is refused with a hint."""
    reply = control(emulator, "GET", "/_emulator/phones/0612345678/messages")
    assert reply.status == 400
    assert "E.164" in reply.json["message"]


def test_whatsapp_and_sms_of_one_number_are_one_phone(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """whatsapp:+1… and +1… are the same handset, with both channels listed."""
    number = seed(emulator, whatsapp=True)["numbers"][0]["phone_number"]
    inbound(emulator, from_=PHONE, to=number, body="sms")
    inbound(emulator, from_=f"whatsapp:{PHONE}", to=f"whatsapp:{number}", body="wa")
    phones = control(emulator, "GET", "/_emulator/phones").json["phones"]
    assert [(p["phone_number"], p["sent"], p["channels"]) for p in phones] == [
        (PHONE, 2, ["sms", "whatsapp"])
    ]


def test_seed_buys_numbers_with_their_webhook(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """POST /_emulator/seed buys numbers the Twilio API then lists, SmsUrl set."""
    seeded = seed(emulator, numbers=2, sms_url="http://127.0.0.1:9/sms")
    listed = twilio_client.incoming_phone_numbers.list()
    assert sorted(n.phone_number for n in listed) == sorted(
        n["phone_number"] for n in seeded["numbers"]
    )
    assert {n.sms_url for n in listed} == {"http://127.0.0.1:9/sms"}


def test_seed_creates_a_service_holding_the_numbers(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """With messaging_service, the bought numbers form the new Service's pool."""
    twilio_client.messaging.base_url = emulator.base_url
    seeded = seed(emulator, numbers=2, messaging_service={"friendly_name": "Shop"})
    service = seeded["messaging_service"]
    pool = twilio_client.messaging.v1.services(service["sid"]).phone_numbers.list()
    assert sorted(entry.sid for entry in pool) == sorted(n["sid"] for n in seeded["numbers"])


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"numbers": 0}, "numbers must be 1 to 50"),
        ({"country": "XX"}, "Invalid country"),
        ({"numbers": ["+10000000000"]}, "not an available number"),
        ({"messaging_service": {"inbound_request_url": "ftp://x"}}, "inbound_request_url"),
        ({"sms_url": "not a url"}, "SmsUrl"),
        ({"flavour": 1}, "Unknown field(s) flavour"),
    ],
)
def test_seed_refuses_bad_input_before_buying(
    emulator: RunningEmulator, twilio_client: Client, fields: dict[str, object], words: str
) -> None:
    """Bad seed input is a 400 naming the problem, and nothing is bought."""
    reply = control(emulator, "POST", "/_emulator/seed", fields)
    assert reply.status == 400
    assert words in reply.json["message"]
    assert twilio_client.incoming_phone_numbers.list() == []


async def test_a_slow_subscriber_loses_its_oldest_events_only() -> None:
    """A full queue drops the oldest events and counts them; the newest are kept."""
    bus = EventBus(ManualClock().now, queue_size=2)
    subscription = bus.subscribe()
    for index in range(3):
        bus.publish("tick", {"n": index})
    first = await subscription.next()
    assert first is not None
    assert (first.data["n"], subscription.dropped) == (1, 1)


async def test_a_subscriber_sees_only_the_types_it_asked_for() -> None:
    """A filtered subscription skips other event types."""
    bus = EventBus(ManualClock().now)
    subscription = bus.subscribe(frozenset({"message.status"}))
    bus.publish("message.created", {})
    bus.publish("message.status", {"status": "sent"})
    async with asyncio.timeout(1):
        event = await subscription.next()
    assert event is not None
    assert event.type == "message.status"


async def test_closing_a_subscription_unsubscribes_it() -> None:
    """A closed subscription no longer counts as a subscriber."""
    bus = EventBus(ManualClock().now)
    subscription = bus.subscribe()
    subscription.close()
    assert bus.subscribers == 0
    assert await subscription.next() is None
