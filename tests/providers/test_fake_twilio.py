"""FakeTwilio: the in-memory MessagingProvider with scripted outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.errors import AmbiguousSend, ProviderError
from herald.providers import LOST_RESPONSE, FakeTwilio, MessagingProvider, SendRequest

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
SENDER = "+14155550100"
RECIPIENT = "+31612345678"


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def request(body: str = "Hello") -> SendRequest:
    """A plain SMS send."""
    return SendRequest(to=RECIPIENT, from_=SENDER, body=body)


def test_fake_is_a_messaging_provider() -> None:
    """FakeTwilio satisfies the MessagingProvider port."""
    provider: MessagingProvider = FakeTwilio()
    assert provider is not None


async def test_send_creates_a_queued_message() -> None:
    """A send without a script creates a queued message with its segments."""
    fake = FakeTwilio(clock=Clock())
    message = await fake.send_message(request("Hi"))
    assert (message.status, message.num_segments, message.date_created) == ("queued", 1, NOW)
    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert fake.messages == [message]


async def test_send_through_a_service_is_accepted_without_sender() -> None:
    """A send with only a Messaging Service is accepted and has no From yet."""
    fake = FakeTwilio()
    message = await fake.send_message(
        SendRequest(to=RECIPIENT, messaging_service_sid="MG" + "1" * 32, body="Hi")
    )
    assert (message.status, message.from_) == ("accepted", None)


async def test_scripted_error_is_raised_and_creates_nothing() -> None:
    """A scripted ProviderError is raised by the next send, which creates nothing."""
    fake = FakeTwilio()
    refusal = ProviderError("opted out", provider_code=21610, status=400)
    fake.script(refusal)
    with pytest.raises(ProviderError) as caught:
        await fake.send_message(request())
    assert caught.value is refusal
    assert fake.messages == []
    assert fake.requests == [request()]


async def test_lost_response_creates_the_message_and_raises_ambiguous() -> None:
    """LOST_RESPONSE creates the message, then raises AmbiguousSend."""
    fake = FakeTwilio()
    fake.script(LOST_RESPONSE)
    with pytest.raises(AmbiguousSend):
        await fake.send_message(request())
    assert len(fake.messages) == 1


async def test_script_is_used_in_order_then_sends_succeed() -> None:
    """Scripted outcomes apply to one send each, in order; then sends succeed."""
    fake = FakeTwilio()
    fake.script(ProviderError("busy", status=429, retryable=True), LOST_RESPONSE)
    with pytest.raises(ProviderError):
        await fake.send_message(request())
    with pytest.raises(AmbiguousSend):
        await fake.send_message(request())
    assert (await fake.send_message(request())).status == "queued"


async def test_set_status_moves_the_message_and_dates_its_sending() -> None:
    """set_status changes what fetch_message reports, with the error and date_sent."""
    clock = Clock()
    fake = FakeTwilio(clock=clock)
    message = await fake.send_message(request())
    clock.now = NOW + timedelta(seconds=5)
    fake.set_status(message.sid, "undelivered", error_code=30003, error_message="Unreachable")
    fetched = await fake.fetch_message(message.sid)
    assert (fetched.status, fetched.error_code, fetched.date_sent) == (
        "undelivered",
        30003,
        clock.now,
    )


async def test_fetch_of_an_unknown_sid_is_twilio_404() -> None:
    """An unknown SID is Twilio's 404/20404, not retryable."""
    with pytest.raises(ProviderError) as caught:
        await FakeTwilio().fetch_message("SM" + "0" * 32)
    assert (caught.value.provider_code, caught.value.status, caught.value.retryable) == (
        20404,
        404,
        False,
    )


async def test_list_is_newest_first_and_filtered() -> None:
    """list_messages yields newest first and honours to/from."""
    fake = FakeTwilio()
    first = await fake.send_message(request("one"))
    second = await fake.send_message(request("two"))
    await fake.send_message(SendRequest(to="+31687654321", from_=SENDER, body="three"))
    listed = [message.sid async for message in fake.list_messages(to=RECIPIENT)]
    assert listed == [second.sid, first.sid]


async def test_list_by_date_sent_skips_unsent_messages() -> None:
    """A date_sent bound leaves out messages that were never sent, as Twilio's filter does."""
    fake = FakeTwilio(clock=Clock())
    queued = await fake.send_message(request("queued"))
    sent = await fake.send_message(request("sent"))
    fake.set_status(sent.sid, "sent")
    listed = [m.sid async for m in fake.list_messages(date_sent_after=NOW - timedelta(1))]
    assert listed == [sent.sid]
    assert queued.sid not in listed


async def test_find_message_finds_a_lost_send() -> None:
    """After a lost response, find_message returns the message the send created."""
    fake = FakeTwilio(clock=Clock())
    fake.script(LOST_RESPONSE)
    with pytest.raises(AmbiguousSend):
        await fake.send_message(request("Your code is 1234"))
    found = await fake.find_message(
        to=RECIPIENT,
        from_=SENDER,
        body="Your code is 1234",
        created_after=NOW,
        created_before=NOW + timedelta(seconds=10),
    )
    assert found is not None
    assert found is fake.messages[0]


async def test_find_message_returns_none_when_nothing_was_created() -> None:
    """A scripted AmbiguousSend that created nothing is not found."""
    fake = FakeTwilio(clock=Clock())
    fake.script(AmbiguousSend("no answer"))
    with pytest.raises(AmbiguousSend):
        await fake.send_message(request())
    found = await fake.find_message(
        to=RECIPIENT,
        from_=SENDER,
        body="Hello",
        created_after=NOW,
        created_before=NOW + timedelta(seconds=10),
    )
    assert found is None
