"""Status callbacks posted to Herald by hand: only Twilio's signature makes them count.

The message goes to a number whose messages end `sent` in the emulator (no delivery receipt),
so a `delivered` callback can only come from the test.
"""

from __future__ import annotations

from typing import Any

import httpx

from herald.domain.signatures import twilio_signature
from tests.e2e.helpers import RunningHerald, eventually, get_message, send

NO_RECEIPT_PHONE = "+12015550170"
"""A US mobile in the emulator's block whose messages end `sent` (docs/emulator.md)."""
STATUS_PATH = "/webhooks/twilio/status"


async def _sent_without_receipt(herald: RunningHerald) -> dict[str, Any]:
    accepted = await send(herald, channel="sms", to=NO_RECEIPT_PHONE, body="Parcel on its way.")

    async def reported_sent() -> dict[str, Any] | None:
        message = await get_message(herald, accepted["id"])
        return message if [e["status"] for e in message["history"]][-1:] == ["sent"] else None

    return await eventually(reported_sent, what="the sent callback")


def _delivered(herald: RunningHerald, message: dict[str, Any]) -> dict[str, str]:
    """The form Twilio posts when the message is delivered."""
    return {
        "AccountSid": herald.account_sid,
        "ApiVersion": "2010-04-01",
        "From": herald.sandbox_number,
        "MessageSid": message["provider_sid"],
        "MessageStatus": "delivered",
        "SmsSid": message["provider_sid"],
        "SmsStatus": "delivered",
        "To": NO_RECEIPT_PHONE,
    }


async def _post(herald: RunningHerald, form: dict[str, str], signature: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=herald.api_url, trust_env=False) as twilio:
        return await twilio.post(STATUS_PATH, data=form, headers={"X-Twilio-Signature": signature})


async def test_a_forged_callback_is_refused_and_changes_nothing(herald: RunningHerald) -> None:
    """A callback signed with another token is refused 403; the message stays as it was."""
    before = await _sent_without_receipt(herald)
    form = _delivered(herald, before)
    forged = twilio_signature(herald.api_url + STATUS_PATH, form, "0" * 32)

    response = await _post(herald, form, forged)

    assert response.status_code == 403
    after = await get_message(herald, before["id"])
    assert after["status"] == "sent"
    assert after["history"] == before["history"]


async def test_a_signed_callback_is_applied(herald: RunningHerald) -> None:
    """A callback signed with the account's auth token over Herald's URL moves the status."""
    before = await _sent_without_receipt(herald)
    form = _delivered(herald, before)
    signature = twilio_signature(herald.api_url + STATUS_PATH, form, herald.auth_token)

    response = await _post(herald, form, signature)

    assert response.status_code == 200, response.text
    after = await get_message(herald, before["id"])
    assert after["status"] == "delivered"
    assert after["history"][-1]["source"] == "callback"
