"""Messages create refusals, each raised by the official client with Twilio's code and status;
and the test-credential magic numbers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.messaging import messaging
from herald.emulator.messaging_services import SERVICES, MessagingService
from herald.emulator.whatsapp import SANDBOX_SENDER
from tests.emulator.conftest import ClientFactory, RunningEmulator
from tests.emulator.message_helpers import own_number

SENDER = "+14155550100"
RECIPIENT = "+14155552671"


@pytest.fixture
def sender(emulator: RunningEmulator) -> str:
    """A number the main account owns."""
    own_number(emulator.state, emulator.config.account_sid, SENDER)
    return SENDER


@pytest.fixture
def service_sid(emulator: RunningEmulator) -> str:
    """A Messaging Service of the main account (its pool is empty)."""
    now = emulator.clock.now()
    service = MessagingService(
        sid=emulator.state.sids.sid("MG"),
        account_sid=emulator.config.account_sid,
        friendly_name="alerts",
        date_created=now,
        date_updated=now,
    )
    emulator.state.store(SERVICES).add(service)
    return service.sid


def refused(client: Client, **kwargs: Any) -> TwilioRestException:
    """The exception a create with `kwargs` raises."""
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(**kwargs)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"to": "", "from_": SENDER, "body": "x"}, 21604, id="missing-to"),
        pytest.param({"to": RECIPIENT, "body": "x"}, 21603, id="missing-from"),
        pytest.param({"to": RECIPIENT, "from_": SENDER}, 21602, id="missing-body"),
        pytest.param({"to": RECIPIENT, "from_": SENDER, "body": "a" * 1601}, 21617, id="long-body"),
        pytest.param({"to": "12345", "from_": SENDER, "body": "x"}, 21211, id="invalid-to"),
        pytest.param({"to": "+31201234567", "from_": SENDER, "body": "x"}, 21635, id="landline"),
        pytest.param({"to": RECIPIENT, "from_": "+14155550199", "body": "x"}, 21606, id="not-own"),
        pytest.param({"to": RECIPIENT, "from_": "not!valid", "body": "x"}, 21212, id="bad-from"),
        pytest.param({"to": RECIPIENT, "from_": "MyShop", "body": "x"}, 21612, id="alpha-to-us"),
        pytest.param(
            {"to": RECIPIENT, "from_": SENDER, "body": "x", "status_callback": "http://a_b.com/"},
            21609,
            id="callback-underscore",
        ),
        pytest.param(
            {"to": RECIPIENT, "from_": SENDER, "body": "x", "validity_period": 36001},
            21624,
            id="validity",
        ),
        pytest.param(
            {"to": RECIPIENT, "messaging_service_sid": "MG" + "1" * 32, "body": "x"},
            21701,
            id="unknown-service",
        ),
        pytest.param(
            {"to": "whatsapp:" + RECIPIENT, "from_": SENDER, "body": "x"}, 21910, id="channels"
        ),
        pytest.param(
            {"to": "whatsapp:" + RECIPIENT, "from_": "whatsapp:" + SENDER, "body": "x"},
            63007,
            id="whatsapp-sender",
        ),
    ],
)
def test_invalid_create_is_refused_with_twilio_code(
    twilio_client: Client, sender: str, kwargs: dict[str, Any], code: int
) -> None:
    """Each invalid create raises TwilioRestException 400 with Twilio's code."""
    assert refused(twilio_client, **kwargs).code == code


def test_number_of_another_account_is_21660(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """Sending from a number another account owns is 21660."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="sub")
    own_number(emulator.state, sub.sid, "+14155550111")
    assert refused(twilio_client, to=RECIPIENT, from_="+14155550111", body="x").code == 21660


def test_service_without_body_is_21619(twilio_client: Client, service_sid: str) -> None:
    """With a Messaging Service, a create without content is 21619."""
    assert refused(twilio_client, to=RECIPIENT, messaging_service_sid=service_sid).code == 21619


def test_empty_service_pool_is_21704(twilio_client: Client, service_sid: str) -> None:
    """A Messaging Service with no numbers cannot send (21704)."""
    code = refused(twilio_client, to=RECIPIENT, messaging_service_sid=service_sid, body="x").code
    assert code == 21704


def test_opted_out_recipient_is_21610(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A recipient who opted out of the sender is refused with 21610."""
    messaging(emulator.state).opt_outs.add(emulator.config.account_sid, sender, RECIPIENT)
    assert refused(twilio_client, to=RECIPIENT, from_=sender, body="x").code == 21610


def test_whatsapp_sandbox_is_usable_by_every_account(twilio_client: Client) -> None:
    """The WhatsApp Sandbox sender needs no registration."""
    message = twilio_client.messages.create(
        to="whatsapp:" + RECIPIENT, from_=SANDBOX_SENDER, body="x"
    )
    assert (message.from_, message.status) == (SANDBOX_SENDER, "queued")


@pytest.mark.parametrize(
    ("send_at", "code"),
    [
        pytest.param(None, 35111, id="missing-send-at"),
        pytest.param("tomorrow", 35115, id="bad-format"),
        pytest.param(timedelta(seconds=200), 35114, id="too-soon"),
        pytest.param(timedelta(days=36), 35114, id="too-late"),
    ],
)
def test_invalid_schedule_is_refused(
    emulator: RunningEmulator,
    twilio_client: Client,
    service_sid: str,
    send_at: timedelta | str | None,
    code: int,
) -> None:
    """SendAt must be given, well-formed, and 300 s to 35 days ahead."""
    when: Any = emulator.clock.now() + send_at if isinstance(send_at, timedelta) else send_at
    exc = refused(
        twilio_client,
        to=RECIPIENT,
        messaging_service_sid=service_sid,
        body="x",
        send_at=when,
        schedule_type="fixed",
    )
    assert exc.code == code


def test_schedule_without_service_is_35118(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """Scheduling needs a Messaging Service."""
    when = emulator.clock.now() + timedelta(hours=1)
    exc = refused(
        twilio_client, to=RECIPIENT, from_=sender, body="x", send_at=when, schedule_type="fixed"
    )
    assert exc.code == 35118


# -- test credentials ---------------------------------------------------------------------------


@pytest.fixture
def test_client(emulator: RunningEmulator, make_client: ClientFactory) -> Client:
    """The twilio client with the test credentials."""
    test = emulator.state.test_credentials
    return make_client(test.account_sid, test.auth_token)


def test_magic_success_number_returns_201_and_stores_nothing(
    emulator: RunningEmulator, test_client: Client
) -> None:
    """From +15005550006 with test credentials answers a queued message and stores nothing."""
    message = test_client.messages.create(to=RECIPIENT, from_="+15005550006", body="x")
    assert message.status == "queued"
    assert message.account_sid == emulator.state.test_credentials.account_sid
    assert len(messaging(emulator.state).store) == 0


@pytest.mark.parametrize(
    ("from_", "to", "code"),
    [
        ("+15005550001", RECIPIENT, 21212),
        ("+15005550007", RECIPIENT, 21606),
        ("+15005550008", RECIPIENT, 21611),
        ("+14155550100", RECIPIENT, 21606),
        ("+15005550006", "+15005550001", 21211),
        ("+15005550006", "+15005550002", 21612),
        ("+15005550006", "+15005550003", 21408),
        ("+15005550006", "+15005550004", 21610),
        ("+15005550006", "+15005550009", 21614),
    ],
)
def test_magic_numbers_give_their_documented_errors(
    test_client: Client, from_: str, to: str, code: int
) -> None:
    """Each magic From/To number raises its documented error under test credentials."""
    assert refused(test_client, to=to, from_=from_, body="x").code == code
