"""`Idempotency-Key`: a repeated request returns the original message; a different one is 409."""

from __future__ import annotations

from herald.api.deps import ApiDeps
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource
from tests.api.api_helpers import NL_MOBILE, NOW, Caller, assert_problem, sms


async def test_same_key_and_request_returns_the_original_message(alice: Caller) -> None:
    """Repeating a request with its key answers 200 with the first message, marked replayed."""
    first = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    again = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_replay_stores_nothing_new(alice: Caller, deps: ApiDeps) -> None:
    """A replayed request creates no second message."""
    for _ in range(3):
        await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    page = await deps.messages.list(alice.tenant.id)
    assert len(page.items) == 1


async def test_same_key_with_another_request_is_a_conflict(alice: Caller) -> None:
    """The key reused with a different body is `idempotency_conflict`, naming the first message."""
    first = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    other = await alice.http.post(
        "/v1/messages", json=sms(body="Another text"), headers={"Idempotency-Key": "k1"}
    )
    document = assert_problem(other, 409, "idempotency_conflict")
    assert document["message_id"] == first.json()["id"]


async def test_defaults_written_out_are_the_same_request(alice: Caller) -> None:
    """Spelling out a default (`purpose: transactional`) does not make it another request."""
    first = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    again = await alice.http.post(
        "/v1/messages", json=sms(purpose="transactional"), headers={"Idempotency-Key": "k1"}
    )
    assert again.json()["id"] == first.json()["id"]


async def test_replay_is_answered_even_if_the_rules_now_refuse(
    alice: Caller, deps: ApiDeps
) -> None:
    """A retry after the recipient opted out still gets the original message, not a refusal."""
    first = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    await deps.opt_outs.set(
        alice.tenant.id,
        Channel.SMS,
        NL_MOBILE,
        opted_out=True,
        source=OptOutSource.KEYWORD,
        now=NOW,
    )
    again = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


async def test_keys_are_per_tenant(alice: Caller, bob: Caller) -> None:
    """Two tenants using the same key get a message each, never each other's."""
    mine = await alice.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    theirs = await bob.http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k1"})
    assert theirs.status_code == 202
    assert theirs.json()["id"] != mine.json()["id"]


async def test_overlong_key_is_an_invalid_request(alice: Caller) -> None:
    """An Idempotency-Key over 255 characters is refused as `invalid_request`."""
    response = await alice.http.post(
        "/v1/messages", json=sms(), headers={"Idempotency-Key": "k" * 256}
    )
    assert assert_problem(response, 422, "invalid_request")["field"] == "Idempotency-Key"
