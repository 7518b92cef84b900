"""The delivery lifecycle on the manual clock: outcomes per reserved number, throughput queueing,
validity expiry, Messaging Service senders and scheduled sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.clock import ManualClock
from herald.emulator.delivery import DeliveryEngine
from herald.emulator.message_store import Message, MessageStore
from herald.emulator.messaging import messaging
from herald.emulator.messaging_services import POOL, SERVICES, MessagingService, PoolEntry
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.outcomes import outcome_for
from herald.emulator.throughput import Throughput, sender_mps
from herald.emulator.whatsapp import SANDBOX_SENDER, whatsapp_state
from tests.emulator.conftest import RunningEmulator
from tests.emulator.message_helpers import own_number, wait_until

SENDER = "+14155550100"


@pytest.fixture
def sender(emulator: RunningEmulator) -> str:
    """A number the main account owns."""
    own_number(emulator.state, emulator.config.account_sid, SENDER)
    return SENDER


def status_of(emulator: RunningEmulator, sid: str) -> str | None:
    """The stored status of a message."""
    message = messaging(emulator.state).store.lookup(sid)
    return None if message is None else message.status


def settle(emulator: RunningEmulator, sid: str, seconds: float, status: str) -> None:
    """Move the clock and wait until the message reaches `status`."""
    emulator.clock.advance(seconds)
    wait_until(lambda: status_of(emulator, sid) == status, f"{sid} to become {status}")


@pytest.mark.parametrize(
    ("to", "status", "error_code"),
    [
        ("+14155550105", "delivered", None),
        ("+14155550110", "undelivered", 30003),
        ("+14155550123", "undelivered", 30005),
        ("+14155550131", "undelivered", 30006),
        ("+14155550149", "undelivered", 30007),
        ("+14155550150", "undelivered", 30008),
        ("+14155550161", "undelivered", 30004),
        ("+14155550170", "sent", None),
        ("+14155550188", "failed", 30008),
        ("+442079460123", "undelivered", 30006),
        ("+14155552671", "delivered", None),
    ],
)
@pytest.mark.usefixtures("sender")
def test_reserved_numbers_end_as_documented(
    emulator: RunningEmulator, twilio_client: Client, to: str, status: str, error_code: int | None
) -> None:
    """A message to a reserved outcome number ends with that row's status and error code."""
    message = twilio_client.messages.create(to=to, from_=SENDER, body="x")
    settle(emulator, message.sid, 1, status)
    fetched = twilio_client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == (status, error_code)


def test_delivered_message_has_date_sent_and_negative_price(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """Once sent, date_sent is set and price is a negative USD string per segment."""
    message = twilio_client.messages.create(to="+14155552671", from_=sender, body="a" * 161)
    settle(emulator, message.sid, 1, "delivered")
    fetched = twilio_client.messages(message.sid).fetch()
    assert fetched.date_sent is not None
    assert (fetched.price, fetched.price_unit) == ("-0.01580", "USD")


def test_whatsapp_reserved_read_number_reaches_read(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """A WhatsApp message inside the window to a 90-99 number goes on to `read`."""
    to = "whatsapp:+14155550195"
    whatsapp_state(emulator.state).open(SANDBOX_SENDER, to, emulator.clock.now())
    message = twilio_client.messages.create(to=to, from_=SANDBOX_SENDER, body="x")
    settle(emulator, message.sid, 1, "read")
    assert twilio_client.messages(message.sid).fetch().status == "read"


def test_whatsapp_outside_window_fails_with_63016(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """A free-form WhatsApp message with no open window fails as it is sent (63016)."""
    message = twilio_client.messages.create(
        to="whatsapp:+14155552671", from_=SANDBOX_SENDER, body="x"
    )
    settle(emulator, message.sid, 1, "failed")
    assert twilio_client.messages(message.sid).fetch().error_code == 63016


def test_long_code_sends_one_segment_per_second(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """Three messages from a US long code leave its queue one second apart."""
    sids = [
        twilio_client.messages.create(to="+14155552671", from_=sender, body=str(n)).sid
        for n in range(3)
    ]
    settle(emulator, sids[0], 0.5, "delivered")
    assert [status_of(emulator, sid) for sid in sids[1:]] == ["queued", "queued"]
    settle(emulator, sids[1], 1, "delivered")
    assert status_of(emulator, sids[2]) == "queued"


def test_short_validity_period_expires_in_queue_with_30036(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A message that would wait longer than its ValidityPeriod fails with 30036."""
    twilio_client.messages.create(to="+14155552671", from_=sender, body="first")
    late = twilio_client.messages.create(
        to="+14155552671", from_=sender, body="second", validity_period=1
    )
    settle(emulator, late.sid, 2, "failed")
    assert twilio_client.messages(late.sid).fetch().error_code == 30036


def test_queue_overflow_after_default_validity_is_30001() -> None:
    """Behind ten hours of queued segments, a message fails with 30001 when 36,000 s run out."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    clock = ManualClock(start)
    store = MessageStore(10)
    engine = DeliveryEngine(
        store,
        clock,
        step_seconds=0.02,
        throughput=Throughput(enabled=True),
        auth_token_of=lambda _sid: None,
        new_token=lambda: "token",
    )

    def queued(sid: str, segments: int) -> Message:
        message = Message(
            sid=sid,
            account_sid="AC" + "0" * 32,
            to="+14155552671",
            from_=SENDER,
            body="x",
            status="queued",
            date_created=start,
            date_updated=start,
            num_segments=segments,
        )
        store.add(message)
        engine.accept(message)
        return message

    queued("SM" + "1" * 32, 36_000)
    waiting = queued("SM" + "2" * 32, 1)
    engine.run_due(start + timedelta(seconds=35_999))
    assert waiting.status == "queued"
    engine.run_due(start + timedelta(seconds=36_000))
    assert (waiting.status, waiting.error_code) == ("failed", 30001)


@pytest.mark.parametrize(
    ("sender_address", "mps"),
    [
        ("+14155550100", 1.0),
        ("+18005550100", 3.0),
        ("22395", 100.0),
        ("+31612345678", 10.0),
        ("MyShop", 10.0),
        ("whatsapp:+14155238886", 80.0),
    ],
)
def test_sender_throughput_follows_twilio_defaults(sender_address: str, mps: float) -> None:
    """Each kind of sender drains at Twilio's default rate."""
    assert sender_mps(sender_address) == mps


def test_outcomes_are_deterministic() -> None:
    """The same number always gets the same outcome."""
    assert outcome_for("+12025550112") == outcome_for("+12025550112")


# -- Messaging Services and scheduling -----------------------------------------------------------


@pytest.fixture
def service_sid(emulator: RunningEmulator, sender: str) -> str:
    """A Messaging Service whose pool holds the sender."""
    now = emulator.clock.now()
    account_sid = emulator.config.account_sid
    service = MessagingService(
        sid=emulator.state.sids.sid("MG"),
        account_sid=account_sid,
        friendly_name="alerts",
        date_created=now,
        date_updated=now,
    )
    emulator.state.store(SERVICES).add(service)
    number = PhoneNumbers(emulator.state).owned_by(account_sid, sender)
    assert number is not None
    emulator.state.store(POOL).add(
        PoolEntry(
            sid=number.sid,
            account_sid=account_sid,
            service_sid=service.sid,
            date_created=now,
            date_updated=now,
        )
    )
    return service.sid


def test_service_message_is_accepted_then_gets_its_sender(
    emulator: RunningEmulator, twilio_client: Client, service_sid: str
) -> None:
    """With a Messaging Service the message starts `accepted` without a sender, then gets one."""
    message = twilio_client.messages.create(
        to="+14155552671", messaging_service_sid=service_sid, body="x"
    )
    assert (message.status, message.from_, message.num_segments) == ("accepted", None, "0")
    settle(emulator, message.sid, 1, "delivered")
    fetched = twilio_client.messages(message.sid).fetch()
    assert (fetched.from_, fetched.num_segments) == (SENDER, "1")


def test_scheduled_message_is_sent_at_send_at(
    emulator: RunningEmulator, twilio_client: Client, service_sid: str
) -> None:
    """A scheduled message stays `scheduled` until SendAt, then is delivered."""
    send_at = emulator.clock.now() + timedelta(hours=1)
    message = twilio_client.messages.create(
        to="+14155552671",
        messaging_service_sid=service_sid,
        body="x",
        send_at=send_at,
        schedule_type="fixed",
    )
    assert message.status == "scheduled"
    emulator.clock.advance(timedelta(minutes=59))
    assert status_of(emulator, message.sid) == "scheduled"
    settle(emulator, message.sid, 61, "delivered")


def test_canceled_scheduled_message_is_never_sent(
    emulator: RunningEmulator, twilio_client: Client, service_sid: str
) -> None:
    """Status=canceled cancels a scheduled message; SendAt then passes without a send."""
    message = twilio_client.messages.create(
        to="+14155552671",
        messaging_service_sid=service_sid,
        body="x",
        send_at=emulator.clock.now() + timedelta(hours=1),
        schedule_type="fixed",
    )
    assert twilio_client.messages(message.sid).update(status="canceled").status == "canceled"
    emulator.clock.advance(timedelta(hours=2))
    engine = messaging(emulator.state).engine
    wait_until(lambda: engine.next_due() is None, "the release step to be skipped")
    assert status_of(emulator, message.sid) == "canceled"


def test_cancel_of_unscheduled_message_is_30409(twilio_client: Client, sender: str) -> None:
    """Only a scheduled message can be canceled."""
    message = twilio_client.messages.create(to="+14155552671", from_=sender, body="x")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages(message.sid).update(status="canceled")
    assert caught.value.code == 30409


def test_store_evicts_oldest_final_message_first() -> None:
    """Past max_messages the oldest finished message goes, never one still in flight."""
    store = MessageStore(2)
    now = datetime(2025, 1, 1, tzinfo=UTC)

    def add(sid: str, status: str) -> Message:
        message = Message(sid, "AC" + "0" * 32, "+1", None, "", status, now, now, 1)
        store.add(message)
        return message

    in_flight = add("SM1", "queued")
    add("SM2", "delivered")
    add("SM3", "delivered")
    assert store.lookup("SM1") is in_flight
    assert store.lookup("SM2") is None
    assert len(store) == 2
