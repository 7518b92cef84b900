"""Events to the application: signed webhook deliveries, and the same events by polling."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from herald.domain.webhook_signing import verify_webhook
from tests.e2e.helpers import RunningHerald, eventually, send
from tests.worker.receiver import Receiver, receiving

PHONE = "+12015550104"
STATUS_CHANGED = "message.status_changed"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The application's webhook endpoint, on a loopback port."""
    async with receiving() as receiver:
        yield receiver


async def _subscribe(herald: RunningHerald, receiver: Receiver) -> str:
    """Register the receiver for status changes; the endpoint's signing secret."""
    response = await herald.api.post(
        "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": [STATUS_CHANGED]}
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


async def _until_delivered(receiver: Receiver, message_id: str) -> list[dict[str, Any]]:
    """The events the receiver got for the message, once one says it was delivered."""

    async def probe() -> list[dict[str, Any]] | None:
        events = [json.loads(each.body) for each in receiver.requests]
        mine = [event for event in events if event["data"]["message_id"] == message_id]
        return mine if any(e["data"]["status"] == "delivered" for e in mine) else None

    return await eventually(probe, what=f"the event saying {message_id} was delivered")


async def test_status_changes_are_posted_signed(herald: RunningHerald, receiver: Receiver) -> None:
    """Each status change reaches the endpoint signed with its secret, per Standard Webhooks."""
    secret = await _subscribe(herald, receiver)
    message = await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")

    events = await _until_delivered(receiver, message["id"])

    assert {event["type"] for event in events} == {STATUS_CHANGED}
    assert {"queued", "delivered"} <= {event["data"]["status"] for event in events}
    for request in receiver.requests:
        assert verify_webhook(secret, request.headers, request.body, now=time.time())
        assert request.headers["webhook-id"] == json.loads(request.body)["id"]


async def test_polling_serves_the_posted_events(herald: RunningHerald, receiver: Receiver) -> None:
    """GET /v1/events, followed by its cursor, serves the very events the endpoint received."""
    await _subscribe(herald, receiver)
    message = await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")
    posted = await _until_delivered(receiver, message["id"])

    polled: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"types": STATUS_CHANGED, "limit": 2}
        if cursor is not None:
            params["after"] = cursor
        page = (await herald.api.get("/v1/events", params=params)).json()
        polled += page["data"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break

    by_id = {event["id"]: event for event in polled}
    assert [by_id[event["id"]] for event in posted] == posted
