"""Start throttles (per number, per IP, per destination prefix) and the verification events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.otp import ThrottleRule, ThrottleScope
from herald.storage.schema import events
from herald.storage.throttles import DatabaseThrottle, RedisThrottle
from tests.api.api_helpers import NOW, Caller, ManualClock, assert_problem
from tests.verification.verification_helpers import NL_MOBILE, check, other_code, sent_code, start

RULE = ThrottleRule(ThrottleScope.NUMBER, 2, timedelta(minutes=1))


async def _events(engine: AsyncEngine, type_: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(events.c.payload).where(events.c.type == type_).order_by(events.c.id)
        )
        return [dict(row.payload) for row in rows]


async def test_sixth_start_to_one_number_is_throttled(alice: Caller) -> None:
    """Five starts to one number pass within ten minutes; the sixth is 429 with Retry-After."""
    for _ in range(5):
        assert (await start(alice.http)).status_code == 201
    response = await start(alice.http)
    document = assert_problem(response, 429, "verification_throttled")
    assert document["throttle"] == "number"
    assert response.headers["Retry-After"] == "600"


async def test_number_throttle_lifts_after_its_window(alice: Caller, clock: ManualClock) -> None:
    """Ten minutes after the first start, the number may be sent a code again."""
    for _ in range(6):
        await start(alice.http)
    clock.advance(600)
    assert (await start(alice.http)).status_code == 201


async def test_burst_to_one_prefix_is_throttled(alice: Caller) -> None:
    """Starts to many numbers of one range, from many IPs, stop at the prefix limit."""
    answers = []
    for index in range(40):
        # Each request comes from another client, so only the prefix rule can stop the burst.
        response = await alice.http.post(
            "/v1/verifications",
            json={"to": f"+3161234{index:04d}", "channel": "sms"},
            headers={"X-Forwarded-For": f"198.51.100.{index}"},
        )
        answers.append(response)
    statuses = [response.status_code for response in answers]
    assert statuses[:30] == [201] * 30
    assert set(statuses[30:]) == {429}
    assert answers[-1].json()["throttle"] == "prefix"


async def test_one_ip_starting_for_many_ranges_is_throttled(alice: Caller) -> None:
    """One client starting verifications across many ranges stops at the IP limit."""
    statuses = []
    for index in range(21):
        response = await alice.http.post(
            "/v1/verifications",
            json={"to": f"+316{index + 10:02d}345678", "channel": "sms"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        statuses.append((response.status_code, response.json().get("throttle")))
    assert statuses[:20] == [(201, None)] * 20
    assert statuses[20] == (429, "ip")


async def test_throttled_start_emits_an_event_without_a_code(
    alice: Caller, engine: AsyncEngine
) -> None:
    """A refused start is a verification.throttled event naming the throttle."""
    for _ in range(6):
        await start(alice.http)
    [event] = await _events(engine, "verification.throttled")
    assert event["to"] == NL_MOBILE
    assert event["reason"] == "number"
    assert event["verification_id"] is None


async def test_approval_emits_verification_approved(alice: Caller, engine: AsyncEngine) -> None:
    """An approval is a verification.approved event."""
    started = (await start(alice.http)).json()
    await check(alice.http, await sent_code(engine, started["id"]), id=started["id"])
    [event] = await _events(engine, "verification.approved")
    assert event["verification_id"] == started["id"]
    assert event["status"] == "approved"


async def test_attempt_limit_emits_verification_failed(alice: Caller, engine: AsyncEngine) -> None:
    """Reaching the attempt limit is one verification.failed event."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    for _ in range(7):
        await check(alice.http, other_code(code), id=started["id"])
    [event] = await _events(engine, "verification.failed")
    assert event["reason"] == "max_attempts_reached"


async def test_expiry_emits_verification_failed(
    alice: Caller, engine: AsyncEngine, clock: ManualClock
) -> None:
    """A check after expiry is a verification.failed event with reason expired."""
    started = (await start(alice.http)).json()
    clock.advance(601)
    await check(alice.http, "123456", id=started["id"])
    [event] = await _events(engine, "verification.failed")
    assert event["reason"] == "expired"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(alice: Caller, app: Any) -> None:
    """A client that is not a trusted proxy cannot dodge the IP throttle with X-Forwarded-For."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.50", 5000)),
        base_url="http://herald.test",
        headers={"Authorization": f"Bearer {alice.key}"},
    ) as direct:
        statuses = [
            (
                await direct.post(
                    "/v1/verifications",
                    json={"to": f"+316{index + 10:02d}345678", "channel": "sms"},
                    headers={"X-Forwarded-For": f"198.51.100.{index}"},
                )
            ).status_code
            for index in range(21)
        ]
    assert statuses[-1] == 429


async def test_database_throttle_counts_in_windows(engine: AsyncEngine) -> None:
    """The database counter allows the limit, refuses with the wait left, then resets."""
    throttle = DatabaseThrottle(engine)
    answers = [await throttle.hit("k", RULE, NOW) for _ in range(3)]
    assert answers == [None, None, 60.0]
    later = NOW + RULE.window
    assert await throttle.hit("k", RULE, later) is None


@pytest.mark.redis
async def test_redis_throttle_counts_in_windows(redis_url: str) -> None:
    """The Redis counter allows the limit and refuses the next with the wait left."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        throttle = RedisThrottle(client)
        answers = [await throttle.hit("verify:t:number:+31", RULE, NOW) for _ in range(3)]
    finally:
        await client.aclose()
    assert answers[:2] == [None, None]
    assert answers[2] is not None
    assert 1 <= answers[2] <= 60
