"""Creating messages through TwilioClient against the emulator over real HTTP, parameter by
parameter, and reading them back.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from herald.emulator.message_store import Message
from herald.emulator.messaging import messaging
from herald.providers import MessagingProvider, SendRequest, TwilioClient, TwilioCredentials
from tests.providers.provider_helpers import (
    RECIPIENT,
    RunningEmulator,
    account_headers,
    seed_numbers,
)


def stored(emulator: RunningEmulator, sid: str) -> Message:
    """The emulator's own record of message `sid`."""
    message = messaging(emulator.state).store.get(emulator.config.account_sid, sid)
    assert message is not None
    return message


async def test_send_returns_the_created_message(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """A send with To, From and Body returns Twilio's new message, queued, with its fields."""
    message = await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Hello"))
    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert (message.to, message.from_, message.body) == (RECIPIENT, sender, "Hello")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.num_segments == 1
    assert message.account_sid == emulator.config.account_sid
    assert message.date_created == emulator.clock.now().replace(microsecond=0)
    assert message.date_sent is None


async def test_send_through_a_messaging_service_leaves_the_sender_to_it(
    client: TwilioClient, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """With only MessagingServiceSid the message is `accepted` and has no From yet."""
    seeded = await seed_numbers(session, emulator, service=True)
    service_sid = seeded["messaging_service"]["sid"]
    message = await client.send_message(
        SendRequest(to=RECIPIENT, messaging_service_sid=service_sid, body="Via the pool")
    )
    assert message.status == "accepted"
    assert message.from_ is None
    assert message.messaging_service_sid == service_sid


async def test_send_passes_every_media_url(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """Each MediaUrl is sent as a repeated field and counted by Twilio."""
    urls = ("https://example.com/a.png", "https://example.com/b.png")
    message = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="Pictures", media_urls=urls)
    )
    assert message.num_media == 2
    assert stored(emulator, message.sid).media_urls == urls


async def test_send_fills_a_content_template_with_its_variables(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """ContentSid and ContentVariables (a JSON string) are rendered into the stored body."""
    template: dict[str, Any] = {
        "friendly_name": "shipped",
        "language": "en",
        "variables": {"1": "name", "2": "order"},
        "types": {"twilio/text": {"body": "Hi {{1}}, order {{2}} has shipped."}},
    }
    async with session.post(
        emulator.url("/v1/Content"), json=template, headers=account_headers(emulator)
    ) as response:
        assert response.status == 201
        content_sid = (await response.json())["sid"]
    message = await client.send_message(
        SendRequest(
            to=RECIPIENT,
            from_=sender,
            content_sid=content_sid,
            content_variables={"1": "Ada", "2": "#1042"},
        )
    )
    assert message.body == "Hi Ada, order #1042 has shipped."


async def test_send_sets_the_status_callback(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """StatusCallback reaches Twilio as given."""
    callback = "https://herald.example.com/webhooks/twilio/status"
    message = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="Tracked", status_callback=callback)
    )
    assert stored(emulator, message.sid).status_callback == callback


async def test_send_asks_for_smart_encoding(client: TwilioClient, sender: str) -> None:
    """SmartEncoded=true makes Twilio replace look-alike characters before sending."""
    message = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="“Quoted” — text", smart_encoded=True)
    )
    assert message.body == '"Quoted" - text'


async def test_send_without_smart_encoding_keeps_the_body(
    client: TwilioClient, sender: str
) -> None:
    """Without SmartEncoded the body is stored exactly as given."""
    message = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="“Quoted” — text")
    )
    assert message.body == "“Quoted” — text"


async def test_send_sets_the_validity_period(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """ValidityPeriod reaches Twilio as a number of seconds."""
    message = await client.send_message(
        SendRequest(to=RECIPIENT, from_=sender, body="Soon or never", validity_period=600)
    )
    assert stored(emulator, message.sid).validity_period == 600


async def test_fetch_returns_the_message_as_it_is_now(client: TwilioClient, sender: str) -> None:
    """fetch_message reads the message back by SID."""
    created = await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Again"))
    fetched = await client.fetch_message(created.sid)
    assert fetched == created


async def test_api_key_credentials_send_and_fetch(
    session: aiohttp.ClientSession, sender: str, emulator: RunningEmulator
) -> None:
    """An API key (SK… and secret) acting on the account sends and reads messages."""
    account = emulator.config.account_sid
    async with session.post(
        emulator.url(f"/2010-04-01/Accounts/{account}/Keys.json"),
        data={"FriendlyName": "herald"},
        headers=account_headers(emulator),
    ) as response:
        key = await response.json()
    client = TwilioClient(
        session,
        TwilioCredentials.api_key(account, key["sid"], key["secret"]),
        base_url=emulator.base_url,
    )
    message = await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="Keyed"))
    assert (await client.fetch_message(message.sid)).body == "Keyed"


def test_twilio_client_is_a_messaging_provider(client: TwilioClient) -> None:
    """TwilioClient satisfies the MessagingProvider port the worker depends on."""
    provider: MessagingProvider = client
    assert provider is client
