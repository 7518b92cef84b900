"""Listing messages page by page, and the set-up calls the sandbox makes: numbers on sale,
buying one, pointing its webhooks, a Messaging Service holding it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from herald.providers import ProviderMessage, SendRequest, TwilioClient
from tests.providers.provider_helpers import RECIPIENT, RunningEmulator

OTHER_RECIPIENT = "+14155552672"
WAIT_SECONDS = 10.0


async def collect(client: TwilioClient, **filters: Any) -> list[ProviderMessage]:
    """Every message list_messages yields."""
    return [message async for message in client.list_messages(**filters)]


async def test_list_follows_every_page_newest_first(client: TwilioClient, sender: str) -> None:
    """With two messages a page, five messages come back in three pages, newest first."""
    sent = [
        await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body=f"n{i}"))
        for i in range(5)
    ]
    listed = await collect(client, page_size=2)
    assert [message.sid for message in listed] == [message.sid for message in reversed(sent)]


async def test_list_filters_by_recipient(client: TwilioClient, sender: str) -> None:
    """`to` narrows the list to one recipient's messages."""
    await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="one"))
    other = await client.send_message(SendRequest(to=OTHER_RECIPIENT, from_=sender, body="two"))
    listed = await collect(client, to=OTHER_RECIPIENT)
    assert [message.sid for message in listed] == [other.sid]


async def test_list_filters_by_sender(client: TwilioClient, sender: str) -> None:
    """`from_` narrows the list to one sender's messages."""
    await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="one"))
    assert len(await collect(client, from_=sender)) == 1
    assert await collect(client, from_="+15017122661") == []


async def test_list_filters_by_date_sent(
    client: TwilioClient, sender: str, emulator: RunningEmulator
) -> None:
    """`date_sent_after`/`date_sent_before` keep the messages sent inside the bounds."""
    start = emulator.clock.now()
    message = await client.send_message(SendRequest(to=RECIPIENT, from_=sender, body="dated"))
    emulator.clock.advance(5)
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while (await client.fetch_message(message.sid)).date_sent is None:
        assert asyncio.get_running_loop().time() < deadline, "the message was never sent"
        await asyncio.sleep(0.01)
    inside = await collect(client, date_sent_after=start, date_sent_before=start + timedelta(60))
    before = await collect(client, date_sent_before=start - timedelta(seconds=1))
    assert [found.sid for found in inside] == [message.sid]
    assert before == []


async def test_sandbox_set_up_buys_configures_and_pools_a_number(
    client: TwilioClient, emulator: RunningEmulator
) -> None:
    """A number on sale is bought, its webhooks set, and put in a new Messaging Service."""
    on_sale = await client.list_available_numbers("US", page_size=3)
    assert on_sale
    assert all(number.sms for number in on_sale)
    bought = await client.purchase_number(phone_number=on_sale[0].phone_number)
    assert (bought.phone_number, bought.account_sid) == (
        on_sale[0].phone_number,
        emulator.config.account_sid,
    )
    configured = await client.update_incoming_number(
        bought.sid,
        sms_url="http://127.0.0.1:8800/webhooks/twilio/inbound",
        status_callback="http://127.0.0.1:8800/webhooks/twilio/status",
    )
    assert configured.sms_url == "http://127.0.0.1:8800/webhooks/twilio/inbound"
    assert configured.status_callback == "http://127.0.0.1:8800/webhooks/twilio/status"
    service = await client.create_messaging_service(
        "Herald sandbox", status_callback="http://127.0.0.1:8800/webhooks/twilio/status"
    )
    assert service.sid.startswith("MG")
    pooled = await client.add_number_to_service(service.sid, bought.sid)
    assert (pooled.sid, pooled.service_sid, pooled.phone_number) == (
        bought.sid,
        service.sid,
        bought.phone_number,
    )


async def test_list_incoming_numbers_follows_pages_and_filters(client: TwilioClient) -> None:
    """Bought numbers are all listed across pages, and one is found by its own number."""
    on_sale = await client.list_available_numbers("US", page_size=2)
    area_code = on_sale[0].phone_number[2:5]
    first = await client.purchase_number(phone_number=on_sale[0].phone_number)
    second = await client.purchase_number(area_code=area_code)
    everything = await client.list_incoming_numbers(page_size=1)
    only = await client.list_incoming_numbers(phone_number=second.phone_number)
    assert {number.sid for number in everything} == {first.sid, second.sid}
    assert len(everything) == 2
    assert [number.sid for number in only] == [second.sid]
