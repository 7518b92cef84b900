"""Idempotency-Key over HTTP: a retried request sends nothing twice."""

from __future__ import annotations

from tests.e2e.helpers import RunningHerald, assert_problem, received_by, settled

PHONE = "+12015550102"
REQUEST = {"channel": "sms", "to": PHONE, "body": "Your code is 482913."}
KEY = {"Idempotency-Key": "3f1c6a0e-checkout-42"}


async def test_a_retried_request_returns_the_same_message_once(herald: RunningHerald) -> None:
    """The same key and body answer the first message again, and the phone gets it once."""
    first = await herald.api.post("/v1/messages", json=REQUEST, headers=KEY)
    retry = await herald.api.post("/v1/messages", json=REQUEST, headers=KEY)

    assert first.status_code == 202, first.text
    assert retry.status_code == 200, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    await settled(herald, first.json()["id"])
    listed = (await herald.api.get("/v1/messages", params={"to": PHONE})).json()["data"]
    assert [message["id"] for message in listed] == [first.json()["id"]]
    assert len(await received_by(herald, PHONE, count=1)) == 1


async def test_the_same_key_with_another_body_is_a_conflict(herald: RunningHerald) -> None:
    """The same key with a different body is refused 409, naming the original message."""
    first = await herald.api.post("/v1/messages", json=REQUEST, headers=KEY)

    other = await herald.api.post(
        "/v1/messages", json={**REQUEST, "body": "Your code is 000000."}, headers=KEY
    )

    problem = assert_problem(other, 409, "idempotency_conflict")
    assert problem["message_id"] == first.json()["id"]
