"""The built-in engine through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api import ApiDeps
from herald.domain.otp import code_key, hash_code
from herald.domain.phone import Channel
from herald.storage.schema import messages, verifications
from tests.api.api_helpers import NOW, Caller, ManualClock, assert_problem
from tests.verification.verification_helpers import (
    NL_MOBILE,
    check,
    other_code,
    sent_code,
    start,
)


async def test_start_answers_pending_with_its_expiry(alice: Caller) -> None:
    """A start is 201 with the verification pending for ten minutes."""
    response = await start(alice.http)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("vfy_")
    assert body["to"] == NL_MOBILE
    assert body["channel"] == "sms"
    assert body["status"] == "pending"
    assert body["expires_at"] == "2030-01-31T12:10:00.000Z"


async def test_code_is_sent_through_the_outbox(alice: Caller, engine: AsyncEngine) -> None:
    """The code goes out as a message in the outbox, six digits, to the number verified."""
    started = (await start(alice.http)).json()
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(messages.c.to_address, messages.c.purpose, messages.c.status).where(
                    messages.c.tenant_id == alice.tenant.id
                )
            )
        ).one()
    assert (row.to_address, row.purpose, row.status) == (NL_MOBILE, "verification", "accepted")
    assert len(await sent_code(engine, started["id"])) == 6


async def test_only_a_keyed_hash_of_the_code_is_stored(
    alice: Caller, engine: AsyncEngine, deps: ApiDeps
) -> None:
    """The verification row holds the HMAC of the code under the derived key, not the code."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    async with engine.connect() as connection:
        stored = await connection.scalar(
            select(verifications.c.code_hash).where(verifications.c.id == started["id"])
        )
    key = code_key(deps.settings.secret_key)
    assert stored == hash_code(key, started["id"], code)
    assert code not in str(stored)


async def test_message_api_never_shows_the_code_message_body(
    alice: Caller, engine: AsyncEngine
) -> None:
    """Reading the code's message through the API shows no body."""
    started = (await start(alice.http)).json()
    async with engine.connect() as connection:
        message_id = await connection.scalar(
            select(verifications.c.message_id).where(verifications.c.id == started["id"])
        )
    shown = (await alice.http.get(f"/v1/messages/{message_id}")).json()
    listed = (await alice.http.get("/v1/messages")).json()["data"][0]
    assert shown["body"] is None
    assert listed["body"] is None


async def test_right_code_approves(alice: Caller, engine: AsyncEngine) -> None:
    """The code sent approves the verification."""
    started = (await start(alice.http)).json()
    response = await check(alice.http, await sent_code(engine, started["id"]), id=started["id"])
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


async def test_check_by_number_finds_the_verification(alice: Caller, engine: AsyncEngine) -> None:
    """A check may name the number instead of the id."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    response = await check(alice.http, code, to="06 1234 5678")
    assert response.json()["status"] == "approved"


async def test_approved_code_works_once(alice: Caller, engine: AsyncEngine) -> None:
    """Checking an approved verification again is not_found: a code is single use."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    await check(alice.http, code, id=started["id"])
    assert_problem(await check(alice.http, code, id=started["id"]), 404, "not_found")


async def test_wrong_code_leaves_it_pending(alice: Caller) -> None:
    """A wrong code answers pending while checks remain."""
    started = (await start(alice.http)).json()
    response = await check(alice.http, "000000", id=started["id"])
    # One in a million: the code drawn could be 000000; then "approved" is the honest answer.
    assert response.json()["status"] in {"pending", "approved"}


async def test_fifth_wrong_code_ends_it(alice: Caller, engine: AsyncEngine) -> None:
    """Five wrong codes end the verification; the right code afterwards does not approve."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    statuses = [
        (await check(alice.http, other_code(code), id=started["id"])).json()["status"]
        for _ in range(5)
    ]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    after = await check(alice.http, code, id=started["id"])
    assert after.json()["status"] == "max_attempts_reached"


async def test_code_expires_after_ten_minutes(
    alice: Caller, engine: AsyncEngine, clock: ManualClock
) -> None:
    """The right code ten minutes later answers expired."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    clock.advance(timedelta(minutes=10).total_seconds())
    assert (await check(alice.http, code, id=started["id"])).json()["status"] == "expired"


async def test_resend_keeps_the_checks_already_made(alice: Caller, engine: AsyncEngine) -> None:
    """A resend gives a new code on the same verification, without new guesses."""
    first = (await start(alice.http)).json()
    old = await sent_code(engine, first["id"])
    for _ in range(4):
        await check(alice.http, other_code(old), id=first["id"])
    second = (await start(alice.http)).json()
    new = await sent_code(engine, second["id"])
    assert second["id"] == first["id"]
    response = await check(alice.http, other_code(new), id=first["id"])
    assert response.json()["status"] == "max_attempts_reached"


async def test_resend_replaces_the_old_code(alice: Caller, engine: AsyncEngine) -> None:
    """After a resend, only the newest code approves."""
    first = (await start(alice.http)).json()
    old = await sent_code(engine, first["id"])
    await start(alice.http)
    new = await sent_code(engine, first["id"])
    if old != new:
        assert (await check(alice.http, old, id=first["id"])).json()["status"] == "pending"
    assert (await check(alice.http, new, id=first["id"])).json()["status"] == "approved"


async def test_code_length_follows_the_settings(alice: Caller, engine: AsyncEngine) -> None:
    """A tenant that chose 8 digits gets 8-digit codes."""
    await alice.http.put("/v1/verifications/settings", json={"engine": "builtin", "code_length": 8})
    started = (await start(alice.http)).json()
    assert len(await sent_code(engine, started["id"])) == 8


async def test_code_length_out_of_range_is_refused(alice: Caller) -> None:
    """A code length outside 4 to 10 is invalid_request."""
    response = await alice.http.put(
        "/v1/verifications/settings", json={"engine": "builtin", "code_length": 11}
    )
    assert_problem(response, 422, "invalid_request")


async def test_settings_default_to_the_builtin_engine(alice: Caller) -> None:
    """A tenant that chose nothing runs the built-in engine with six digits."""
    body = (await alice.http.get("/v1/verifications/settings")).json()
    assert body == {"engine": "builtin", "code_length": 6, "verify_service_sid": None}


async def test_invalid_number_is_refused(alice: Caller) -> None:
    """A number that cannot exist is invalid_recipient, and nothing is sent."""
    assert_problem(await start(alice.http, to="+3161"), 422, "invalid_recipient")


async def test_opted_out_number_gets_no_code(alice: Caller, deps: ApiDeps) -> None:
    """A number opted out of SMS is refused as any message to it would be."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}", json={"channel": "sms"})
    assert await deps.opt_outs.is_opted_out(alice.tenant.id, Channel.SMS, NL_MOBILE)
    assert_problem(await start(alice.http), 422, "recipient_opted_out")


async def test_malformed_code_is_refused(alice: Caller) -> None:
    """A code that is not 4 to 10 digits is invalid_request and uses no check."""
    started = (await start(alice.http)).json()
    assert_problem(await check(alice.http, "12ab", id=started["id"]), 422, "invalid_request")


async def test_unknown_verification_is_not_found(alice: Caller) -> None:
    """Checking an id that does not exist is not_found."""
    assert_problem(await check(alice.http, "123456", id="vfy_nope"), 404, "not_found")


async def test_check_needs_an_id_or_a_number(alice: Caller) -> None:
    """A check naming neither id nor to is invalid_request."""
    assert_problem(await check(alice.http, "123456"), 422, "invalid_request")


async def test_another_tenant_cannot_check(alice: Caller, deps: ApiDeps, app: object) -> None:
    """A verification of one tenant is not found with another tenant's key."""
    started = (await start(alice.http)).json()
    other = await deps.tenants.create("bob", now=NOW)
    key = (await deps.api_keys.create(other.id, now=NOW)).key
    response = await alice.http.post(
        "/v1/verifications/check",
        json={"code": "123456", "id": started["id"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert_problem(response, 404, "not_found")
