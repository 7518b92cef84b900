"""A message's whole journey over HTTP: API, worker, emulator, signed status callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.helpers import (
    RunningHerald,
    conversation,
    eventually,
    get_message,
    received_by,
    send,
    settled,
)

PHONE = "+12015550101"
"""A US mobile in the emulator's block whose messages end `delivered` (docs/emulator.md)."""
LIFECYCLE = ("accepted", "queued", "sent", "delivered")


async def test_a_sent_sms_is_delivered_with_its_full_history(herald: RunningHerald) -> None:
    """A message accepted by the API reaches `delivered` through the emulator's callbacks."""
    accepted = await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")
    assert accepted["status"] == "accepted"

    async def fully_reported() -> dict[str, Any] | None:
        message = await get_message(herald, accepted["id"])
        return message if len(message["history"]) >= len(LIFECYCLE) else None

    message = await eventually(fully_reported, what="four status reports")

    assert message["status"] == "delivered"
    history = message["history"]
    # The emulator posts `sent` and `delivered` a few milliseconds apart and Twilio does not
    # promise their order either: a `sent` that arrives late is kept, without being applied.
    assert sorted(entry["status"] for entry in history) == sorted(LIFECYCLE)
    assert [entry["status"] for entry in history[:2]] == ["accepted", "queued"]
    assert {entry["source"] for entry in history[2:]} == {"callback"}
    assert message["provider_sid"].startswith("SM")
    assert message["from"] == herald.sandbox_number


async def test_the_phone_receives_the_sent_sms(herald: RunningHerald) -> None:
    """The emulator's simulated phone shows the message under the SID Herald recorded."""
    accepted = await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")
    message = await settled(herald, accepted["id"])

    [received] = await received_by(herald, PHONE, count=1)

    assert received["sid"] == message["provider_sid"]
    assert received["body"] == "Your order has shipped."
    assert received["from"] == herald.sandbox_number
    assert received["status"] == "delivered"


async def test_a_scheduled_message_is_held_until_its_time(herald: RunningHerald) -> None:
    """A message with `send_at` two seconds ahead waits as `scheduled`, then is delivered."""
    send_at = datetime.now(UTC) + timedelta(seconds=2)
    accepted = await send(
        herald, channel="sms", to=PHONE, body="Reminder: dentist at 3.", send_at=send_at.isoformat()
    )
    assert accepted["status"] == "scheduled"
    assert await conversation(herald, PHONE) == []

    message = await settled(herald, accepted["id"])

    assert message["status"] == "delivered"
    assert message["history"][0]["status"] == "scheduled"
    [received] = await received_by(herald, PHONE, count=1)
    assert datetime.fromisoformat(received["date_created"]) >= send_at.replace(microsecond=0)
