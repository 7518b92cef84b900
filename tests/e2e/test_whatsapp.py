"""WhatsApp's 24-hour window: free-form only after the customer wrote, templates any time."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import (
    RunningHerald,
    assert_problem,
    received_by,
    send,
    settled,
    text_herald,
)

CUSTOMER = "whatsapp:+31612345670"


async def _create_template(herald: RunningHerald) -> str:
    """An order update template in the emulator's Content API (approved at once there)."""
    response = await herald.emulator.post(
        "/v1/Content",
        auth=herald.emulator_auth,
        json={
            "friendly_name": "order_update",
            "language": "en",
            "variables": {"1": "there"},
            "types": {"twilio/text": {"body": "Hi {{1}}, your order has shipped."}},
        },
    )
    assert response.status_code == 201, response.text
    sid: str = response.json()["sid"]
    return sid


def _free_form(**fields: Any) -> dict[str, Any]:
    return {"channel": "whatsapp", "to": CUSTOMER, "body": "Your table is ready.", **fields}


async def test_free_form_without_a_customer_message_is_refused(herald: RunningHerald) -> None:
    """Free-form WhatsApp to a customer who never wrote is refused, pointing to templates."""
    response = await herald.api.post("/v1/messages", json=_free_form())

    problem = assert_problem(response, 422, "whatsapp_window_closed")
    assert "content_sid" in problem["detail"]
    assert "template" in problem["hint"]


async def test_a_template_is_delivered_outside_the_window(herald: RunningHerald) -> None:
    """A Content template is accepted and delivered to a customer who never wrote."""
    content_sid = await _create_template(herald)

    accepted = await send(
        herald,
        channel="whatsapp",
        to=CUSTOMER,
        content_sid=content_sid,
        content_variables={"1": "Anna"},
    )

    message = await settled(herald, accepted["id"])
    assert message["status"] == "delivered", message["error_message"]
    [received] = await received_by(herald, CUSTOMER, count=1)
    assert received["body"] == "Hi Anna, your order has shipped."
    assert received["channel"] == "whatsapp"


async def test_free_form_is_delivered_after_the_customer_writes(herald: RunningHerald) -> None:
    """Once the customer has written, a free-form reply is accepted and delivered."""
    await text_herald(
        herald, CUSTOMER, "Is my table ready?", to=f"whatsapp:{herald.sandbox_number}"
    )

    accepted = await send(herald, **_free_form())

    message = await settled(herald, accepted["id"])
    assert message["status"] == "delivered", message["error_message"]
