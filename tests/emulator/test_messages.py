"""The Messages resource driven through the official twilio client: create, fetch, list, page,
filter, redact, cancel and delete.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.messaging import messaging
from tests.emulator.conftest import RunningEmulator
from tests.emulator.message_helpers import own_number, wait_until

SENDER = "+14155550100"
RECIPIENT = "+14155552671"


@pytest.fixture
def sender(emulator: RunningEmulator) -> str:
    """A number the main account owns."""
    own_number(emulator.state, emulator.config.account_sid, SENDER)
    return SENDER


def test_create_returns_queued_message_with_every_field(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A create answers 201 with Twilio's fields, strings where Twilio sends strings."""
    message = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="Hello! 👍")
    sid = message.sid
    account = emulator.config.account_sid
    assert sid.startswith("SM")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.price is None
    assert message.date_sent is None
    assert message.date_created == emulator.clock.now()
    assert message.uri == f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
    assert message.subresource_uris["media"] == (
        f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
    )


def test_num_segments_comes_from_the_segment_calculator(twilio_client: Client, sender: str) -> None:
    """A 161-character GSM-7 body is two segments."""
    message = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="a" * 161)
    assert message.num_segments == "2"


def test_smart_encoding_replaces_lookalikes_in_the_stored_body(
    twilio_client: Client, sender: str
) -> None:
    """With SmartEncoded=true the curly quotes become GSM-7 quotes in the stored body."""
    message = twilio_client.messages.create(
        to=RECIPIENT, from_=sender, body="\u201cHi\u201d \u2014 it\u2019s me", smart_encoded=True
    )
    assert message.body == '"Hi" - it\'s me'
    assert twilio_client.messages(message.sid).fetch().body == '"Hi" - it\'s me'


def test_fetch_returns_the_created_message(twilio_client: Client, sender: str) -> None:
    """Fetching by SID returns the same message."""
    created = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="x")
    fetched = twilio_client.messages(created.sid).fetch()
    assert (fetched.sid, fetched.to, fetched.from_, fetched.body) == (
        created.sid,
        RECIPIENT,
        sender,
        "x",
    )


def test_fetch_unknown_message_is_404(twilio_client: Client) -> None:
    """An unknown SID is 404 with code 20404."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_list_pages_newest_first(twilio_client: Client, sender: str) -> None:
    """Listing with a page size of 2 follows next_page_uri through every message, newest first."""
    sids = [
        twilio_client.messages.create(to=RECIPIENT, from_=sender, body=str(n)).sid for n in range(5)
    ]
    listed = [message.sid for message in twilio_client.messages.list(page_size=2)]
    assert listed == list(reversed(sids))


def test_list_filters_by_to(twilio_client: Client, sender: str) -> None:
    """The To filter keeps only messages to that recipient."""
    twilio_client.messages.create(to=RECIPIENT, from_=sender, body="a")
    other = twilio_client.messages.create(to="+14155552672", from_=sender, body="b")
    assert [m.sid for m in twilio_client.messages.list(to="+14155552672")] == [other.sid]


def test_list_filters_by_date_sent(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """DateSent< excludes messages sent after the day given, and unsent messages."""
    sent = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="a")
    emulator.clock.advance(1)
    wait_until(
        lambda: messaging(emulator.state).store.lookup(sent.sid).status == "delivered",  # type: ignore[union-attr]
        "delivery",
    )
    emulator.clock.advance(timedelta(days=2))
    twilio_client.messages.create(to=RECIPIENT, from_=sender, body="b")
    day = (emulator.clock.now() - timedelta(days=1)).date()
    assert [m.sid for m in twilio_client.messages.list(date_sent_before=day)] == [sent.sid]
    assert twilio_client.messages.list(date_sent=emulator.clock.now().date()) == []


def test_redact_empties_the_body(twilio_client: Client, sender: str) -> None:
    """Updating with Body="" redacts the message body."""
    created = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="secret")
    assert twilio_client.messages(created.sid).update(body="").body == ""
    assert twilio_client.messages(created.sid).fetch().body == ""


def test_delete_in_flight_message_is_refused(twilio_client: Client, sender: str) -> None:
    """A message still queued cannot be deleted (20009)."""
    created = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="x")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages(created.sid).delete()
    assert caught.value.code == 20009


def test_delete_delivered_message_removes_it(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A delivered message can be deleted; fetching it is then 404."""
    created = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="x")
    emulator.clock.advance(1)
    wait_until(
        lambda: twilio_client.messages(created.sid).fetch().status == "delivered", "delivery"
    )
    assert twilio_client.messages(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages(created.sid).fetch()
    assert caught.value.code == 20404


def test_other_accounts_messages_are_not_found(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A subaccount cannot fetch its parent's message."""
    created = twilio_client.messages.create(to=RECIPIENT, from_=sender, body="x")
    sub = twilio_client.api.v2010.accounts.create(friendly_name="sub")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.api.v2010.accounts(sub.sid).messages(created.sid).fetch()
    assert caught.value.status == 404
