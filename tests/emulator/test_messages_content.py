"""Messages created from Content templates: rendering, template errors and WhatsApp approval."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from herald.emulator.messaging import messaging
from herald.emulator.whatsapp import SANDBOX_SENDER
from tests.emulator.conftest import RunningEmulator
from tests.emulator.message_helpers import own_number, wait_until
from tests.emulator.rawhttp import call
from tests.emulator.v1clients import on_all_domains

SENDER = "+14155550100"
CUSTOMER = "whatsapp:+14155552671"
TEMPLATE = {
    "friendly_name": "Order Update",
    "language": "en",
    "variables": {"1": "there"},
    "types": {"twilio/text": {"body": "Hi {{1}}, order {{2}} has shipped."}},
}


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client with every domain on the emulator, owning SENDER."""
    own_number(emulator.state, emulator.config.account_sid, SENDER)
    return on_all_domains(twilio_client, emulator)


@pytest.fixture
def content_sid(client: Client) -> str:
    """A text template with one defaulted and one required placeholder."""
    sid: str = client.content.v1.contents.create(ContentList.ContentCreateRequest(TEMPLATE)).sid
    return sid


def settled(emulator: RunningEmulator, sid: str, status: str) -> None:
    """Advance the clock until the message reaches `status`."""
    emulator.clock.advance(1)
    wait_until(
        lambda: (
            (m := messaging(emulator.state).store.lookup(sid)) is not None and m.status == status
        ),
        f"{sid} to become {status}",
    )


def test_message_body_is_the_rendered_template(client: Client, content_sid: str) -> None:
    """The message's body is the template rendered with its variables and defaults."""
    message = client.messages.create(
        to="+14155552671",
        from_=SENDER,
        content_sid=content_sid,
        content_variables=json.dumps({"2": "#1042"}),
    )
    assert message.body == "Hi there, order #1042 has shipped."
    assert message.num_segments == "1"


def test_missing_template_variable_is_21656(client: Client, content_sid: str) -> None:
    """A placeholder with neither a value nor a default refuses the message (400/21656)."""
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+14155552671", from_=SENDER, content_sid=content_sid)
    assert (raised.value.status, raised.value.code) == (400, 21656)


def test_unknown_content_sid_is_21655(client: Client) -> None:
    """A ContentSid the account does not have refuses the message (400/21655)."""
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+14155552671", from_=SENDER, content_sid="HX" + "0" * 32)
    assert (raised.value.status, raised.value.code) == (400, 21655)


def test_content_variables_without_content_sid_is_21654(client: Client) -> None:
    """ContentVariables alongside a plain body but no ContentSid is 400/21654."""
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(
            to="+14155552671", from_=SENDER, body="hi", content_variables='{"1": "x"}'
        )
    assert (raised.value.status, raised.value.code) == (400, 21654)


def test_approved_template_is_delivered_outside_the_window(
    emulator: RunningEmulator, client: Client, content_sid: str
) -> None:
    """An approved template reaches a WhatsApp customer who has not written in 24 hours."""
    message = client.messages.create(
        to=CUSTOMER,
        from_=SANDBOX_SENDER,
        content_sid=content_sid,
        content_variables=json.dumps({"2": "#7"}),
    )
    settled(emulator, message.sid, "delivered")
    assert client.messages(message.sid).fetch().error_code is None


def test_rejected_template_fails_outside_the_window_with_63016(
    emulator: RunningEmulator, client: Client, content_sid: str
) -> None:
    """A template WhatsApp rejected is accepted, then fails outside the window (63016)."""
    reply = call(
        "POST",
        emulator.url(f"/_emulator/content/{content_sid}/approval"),
        body=json.dumps({"status": "rejected", "rejection_reason": "Spam"}).encode(),
        headers={"Content-Type": "application/json"},
        validate=False,
    )
    assert reply.status == 200
    message = client.messages.create(
        to=CUSTOMER,
        from_=SANDBOX_SENDER,
        content_sid=content_sid,
        content_variables=json.dumps({"2": "#7"}),
    )
    assert message.status == "queued"
    settled(emulator, message.sid, "failed")
    assert client.messages(message.sid).fetch().error_code == 63016
