"""`POST /v1/messages`, `GET /v1/messages/{id}`: accepting into the outbox and reading back."""

from __future__ import annotations

from herald.api.deps import ApiDeps
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource
from tests.api.api_helpers import (
    NL_MOBILE,
    NL_SENDER,
    NOW,
    Caller,
    ManualClock,
    assert_problem,
    sms,
)


async def test_send_answers_202_with_the_accepted_message(alice: Caller) -> None:
    """A valid SMS is accepted: 202 with its id, status, normalised `to`, encoding and segments."""
    response = await alice.http.post("/v1/messages", json=sms(to="06 12345678"))
    assert response.status_code == 202
    message = response.json()
    assert message["id"].startswith("msg_")
    assert message["status"] == "accepted"
    assert message["to"] == NL_MOBILE
    assert message["from"] == NL_SENDER
    assert message["encoding"] == "GSM-7"
    assert message["segments"] == 1
    assert message["body"] == "Your parcel arrives today."
    assert message["warnings"] == []


async def test_accepted_message_is_committed_to_the_outbox(alice: Caller, deps: ApiDeps) -> None:
    """The accepted message is stored for the tenant, ready for the worker."""
    response = await alice.http.post("/v1/messages", json=sms())
    stored = await deps.messages.get(alice.tenant.id, response.json()["id"])
    assert stored is not None
    assert stored.status is Status.ACCEPTED
    assert stored.next_attempt_at == NOW


async def test_send_returns_the_template_body_as_sent(alice: Caller) -> None:
    """A tenant template is rendered, and the body returned is the one that will be sent."""
    response = await alice.http.post(
        "/v1/messages", json=sms(body=None, template="otp", variables={"code": "123456"})
    )
    assert response.status_code == 202
    assert response.json()["body"] == "Your code is 123456."
    assert response.json()["template"] == "otp"


async def test_send_reports_warnings(alice: Caller) -> None:
    """A body needing UCS-2 is accepted with the `ucs2_encoding` warning."""
    response = await alice.http.post("/v1/messages", json=sms(body="Het pakket komt 🚚"))
    assert response.status_code == 202
    assert response.json()["encoding"] == "UCS-2"
    assert [w["code"] for w in response.json()["warnings"]] == ["ucs2_encoding"]


async def test_send_at_in_the_future_is_scheduled(alice: Caller) -> None:
    """A message with a future `send_at` is held as `scheduled` until then."""
    response = await alice.http.post("/v1/messages", json=sms(send_at="2030-01-31T15:00:00+01:00"))
    assert response.status_code == 202
    assert response.json()["status"] == "scheduled"
    assert response.json()["send_at"] == "2030-01-31T14:00:00.000Z"


async def test_metadata_is_kept_with_the_message(alice: Caller) -> None:
    """Metadata given when sending comes back with the message."""
    response = await alice.http.post("/v1/messages", json=sms(metadata={"order": 17}))
    message = await alice.http.get(f"/v1/messages/{response.json()['id']}")
    assert message.json()["metadata"] == {"order": 17}


async def test_get_returns_the_message_with_its_history(alice: Caller) -> None:
    """`GET /v1/messages/{id}` returns the message and its status history."""
    created = (await alice.http.post("/v1/messages", json=sms())).json()
    response = await alice.http.get(f"/v1/messages/{created['id']}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["id"] == created["id"]
    assert [(h["status"], h["source"], h["applied"]) for h in detail["history"]] == [
        ("accepted", "api", True)
    ]


async def test_get_unknown_message_is_not_found(alice: Caller) -> None:
    """An id that does not exist is a `not_found` problem."""
    response = await alice.http.get("/v1/messages/msg_00000000000000000000000000")
    assert_problem(response, 404, "not_found")


async def test_whatsapp_free_form_inside_the_window_is_accepted(
    alice: Caller, deps: ApiDeps, clock: ManualClock
) -> None:
    """A WhatsApp body within 24 hours of the customer's last message is accepted."""
    await deps.inbound.record_window(
        alice.tenant.id,
        business=f"whatsapp:{NL_SENDER}",
        customer=f"whatsapp:{NL_MOBILE}",
        at=NOW,
    )
    clock.advance(3600)
    response = await alice.http.post("/v1/messages", json=sms(channel="whatsapp"))
    assert response.status_code == 202
    assert response.json()["to"] == f"whatsapp:{NL_MOBILE}"
    assert response.json()["from"] == f"whatsapp:{NL_SENDER}"


async def test_whatsapp_window_through_a_messaging_service_counts_any_sender(
    alice: Caller, deps: ApiDeps
) -> None:
    """Through a Messaging Service, the customer's latest message to any sender opens the window."""
    await deps.inbound.record_window(
        alice.tenant.id,
        business="whatsapp:+14155238886",
        customer=f"whatsapp:{NL_MOBILE}",
        at=NOW,
    )
    mg = alice.tenant.settings.messaging_service_sid
    response = await alice.http.post("/v1/messages", json=sms(channel="whatsapp", **{"from": mg}))
    assert response.status_code == 202


async def test_opt_out_of_another_channel_does_not_block(alice: Caller, deps: ApiDeps) -> None:
    """An opt-out of WhatsApp does not stop SMS to the same number."""
    await deps.opt_outs.set(
        alice.tenant.id,
        Channel.WHATSAPP,
        NL_MOBILE,
        opted_out=True,
        source=OptOutSource.KEYWORD,
        now=NOW,
    )
    response = await alice.http.post("/v1/messages", json=sms())
    assert response.status_code == 202
