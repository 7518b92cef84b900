"""Requests that get no answer: not sent (retry freely) versus maybe carried out (look up
first), and finding a message whose create response was lost.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from herald.emulator.messaging import messaging
from herald.errors import AmbiguousSend, ProviderUnavailable
from herald.providers import RetryPolicy, SendRequest, TwilioClient, TwilioCredentials
from tests.providers.provider_helpers import (
    RECIPIENT,
    RunningEmulator,
    closed_port,
    misbehaving_server,
    seed_numbers,
    set_chaos,
)

SHORT = aiohttp.ClientTimeout(total=0.5, connect=0.5)


async def test_connection_refused_is_retryable_and_not_ambiguous(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A refused connection means nothing was sent: ProviderUnavailable, retryable."""
    client = TwilioClient(session, credentials, base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ProviderUnavailable) as caught:
        await client.send_message(SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))
    assert caught.value.retryable
    assert not isinstance(caught.value, AmbiguousSend)
    assert "was not sent" in caught.value.detail


async def test_a_read_against_a_refusing_host_is_retried_then_unavailable(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A GET whose connection is refused is retried, then ProviderUnavailable."""
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    client = TwilioClient(
        session,
        credentials,
        base_url=f"http://127.0.0.1:{closed_port()}",
        read_retry=RetryPolicy(base_delay=0.1, max_delay=0.1, max_attempts=2, random=lambda: 1),
        sleep=record,
    )
    with pytest.raises(ProviderUnavailable):
        await client.fetch_message("SM" + "0" * 32)
    assert pauses == [0.1]


async def test_a_lost_response_is_ambiguous(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """The emulator closing the connection after creating the message gives AmbiguousSend."""
    await set_chaos(session, emulator, {"lost_responses": 1})
    with pytest.raises(AmbiguousSend) as caught:
        await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Lost?"))
    assert not caught.value.retryable
    assert len(list(messaging(emulator.state).store)) == 1


async def test_find_message_finds_the_message_whose_response_was_lost(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """After a lost response, find_message returns the message Twilio did create."""
    await set_chaos(session, emulator, {"lost_responses": 1})
    started = emulator.clock.now()
    with pytest.raises(AmbiguousSend):
        await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Lost?"))
    await set_chaos(session, emulator, {})
    found = await client.find_message(
        to=RECIPIENT,
        from_=sender,
        body="Lost?",
        created_after=started,
        created_before=started + timedelta(seconds=30),
    )
    assert found is not None
    created = list(messaging(emulator.state).store)
    assert [found.sid] == [message.sid for message in created]


async def test_find_message_ignores_other_bodies_and_times(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """Messages to the same recipient with another body, or outside the window, do not match."""
    await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Other"))
    start = emulator.clock.now()
    other_body = await client.find_message(
        to=RECIPIENT,
        from_=sender,
        body="Lost?",
        created_after=start,
        created_before=start + timedelta(seconds=30),
    )
    later = await client.find_message(
        to=RECIPIENT,
        from_=sender,
        body="Other",
        created_after=start + timedelta(seconds=1),
        created_before=start + timedelta(seconds=30),
    )
    assert (other_body, later) == (None, None)


async def test_find_message_matches_through_a_messaging_service(
    client: TwilioClient, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """A message sent through a Messaging Service is found by its Service SID."""
    service_sid = (await seed_numbers(session, emulator, service=True))["messaging_service"]["sid"]
    start = emulator.clock.now()
    sent = await client.send_message(
        SendRequest(to=RECIPIENT, messaging_service_sid=service_sid, body="Pooled")
    )
    found = await client.find_message(
        to=RECIPIENT,
        from_=None,
        messaging_service_sid=service_sid,
        body="Pooled",
        created_after=start,
        created_before=start + timedelta(seconds=30),
    )
    assert found is not None
    assert found.sid == sent.sid


async def test_find_message_matches_a_smart_encoded_body(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """A body Twilio stored smart-encoded is still found by the body Herald sent."""
    start = emulator.clock.now()
    sent = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="“Hi” — you", smart_encoded=True)
    )
    found = await client.find_message(
        to=RECIPIENT,
        from_=sender,
        body="“Hi” — you",
        created_after=start,
        created_before=start + timedelta(seconds=30),
    )
    assert found is not None
    assert found.sid == sent.sid


async def test_a_read_timeout_after_sending_is_ambiguous(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A server that read the whole request and never answers makes the send ambiguous."""
    async with misbehaving_server("hang") as url:
        client = TwilioClient(session, credentials, base_url=url, timeout=SHORT)
        with pytest.raises(AmbiguousSend) as caught:
            await client.send_message(SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))
    assert "look it up" in caught.value.detail


async def test_a_reset_after_the_request_was_written_is_ambiguous(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A TCP reset after the server read the request makes the send ambiguous."""
    async with misbehaving_server("reset") as url:
        client = TwilioClient(session, credentials, base_url=url, timeout=SHORT)
        with pytest.raises(AmbiguousSend):
            await client.send_message(SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))


async def test_a_read_timeout_on_a_read_is_unavailable_not_ambiguous(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A GET that times out is retryable ProviderUnavailable: a read changes nothing."""

    async def no_pause(seconds: float) -> None:
        del seconds

    async with misbehaving_server("hang") as url:
        client = TwilioClient(session, credentials, base_url=url, timeout=SHORT, sleep=no_pause)
        with pytest.raises(ProviderUnavailable):
            await client.fetch_message("SM" + "0" * 32)
