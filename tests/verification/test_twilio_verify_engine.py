"""The twilio_verify engine against the real emulator over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.storage.schema import events
from tests.api.api_helpers import Caller, ManualClock, assert_problem
from tests.emulator.conftest import RunningEmulator
from tests.emulator.verify_helpers import codes, latest_code, wrong_code
from tests.verification.verification_helpers import check, start

US_MOBILE = "+14155552671"
"""A US mobile the emulator delivers to."""


async def _code(emulator: RunningEmulator, to: str = US_MOBILE) -> str:
    return await asyncio.to_thread(latest_code, emulator, to)


async def test_first_start_creates_the_tenants_verify_service(on_twilio: Caller) -> None:
    """The first start creates a Verify Service and stores its SID in the tenant's settings."""
    response = await start(on_twilio.http, to=US_MOBILE)
    assert response.status_code == 201, response.text
    settings = (await on_twilio.http.get("/v1/verifications/settings")).json()
    assert settings["engine"] == "twilio_verify"
    assert settings["verify_service_sid"].startswith("VA")


async def test_code_reaches_the_phone_through_twilio_verify(
    on_twilio: Caller, emulator: RunningEmulator
) -> None:
    """Twilio Verify, not Herald's outbox, delivers the code."""
    await start(on_twilio.http, to=US_MOBILE)
    sent = await asyncio.to_thread(codes, emulator, US_MOBILE)
    assert len(sent) == 1
    assert len(sent[0]["code"]) == 6


async def test_answers_carry_no_code(on_twilio: Caller, emulator: RunningEmulator) -> None:
    """Start and check answers carry the status only, never the code."""
    started = await start(on_twilio.http, to=US_MOBILE)
    code = await _code(emulator)
    checked = await check(on_twilio.http, code, id=started.json()["id"])
    assert code not in started.text
    assert code not in checked.text


async def test_right_code_approves_on_twilio(on_twilio: Caller, emulator: RunningEmulator) -> None:
    """The code Twilio sent approves the verification."""
    started = (await start(on_twilio.http, to=US_MOBILE)).json()
    response = await check(on_twilio.http, await _code(emulator), id=started["id"])
    assert response.json()["status"] == "approved"


async def test_approved_twilio_verification_is_used_up(
    on_twilio: Caller, emulator: RunningEmulator
) -> None:
    """A second check of an approved verification is not_found."""
    started = (await start(on_twilio.http, to=US_MOBILE)).json()
    code = await _code(emulator)
    await check(on_twilio.http, code, id=started["id"])
    assert_problem(await check(on_twilio.http, code, id=started["id"]), 404, "not_found")


async def test_check_by_number_on_twilio(on_twilio: Caller, emulator: RunningEmulator) -> None:
    """A check by number finds the Twilio verification."""
    await start(on_twilio.http, to=US_MOBILE)
    response = await check(on_twilio.http, await _code(emulator), to=US_MOBILE)
    assert response.json()["status"] == "approved"


async def test_fifth_wrong_code_ends_it_on_twilio(
    on_twilio: Caller, emulator: RunningEmulator
) -> None:
    """Five wrong codes end a Twilio verification; the right code afterwards does not approve."""
    started = (await start(on_twilio.http, to=US_MOBILE)).json()
    code = await _code(emulator)
    statuses = [
        (await check(on_twilio.http, wrong_code(code), id=started["id"])).json()["status"]
        for _ in range(5)
    ]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    after = await check(on_twilio.http, code, id=started["id"])
    assert after.json()["status"] == "max_attempts_reached"


async def test_resend_stays_on_the_same_verification(
    on_twilio: Caller, emulator: RunningEmulator
) -> None:
    """A second start while pending is Twilio's resend: same verification, same code."""
    first = (await start(on_twilio.http, to=US_MOBILE)).json()
    second = (await start(on_twilio.http, to=US_MOBILE)).json()
    sent = await asyncio.to_thread(codes, emulator, US_MOBILE)
    assert second["id"] == first["id"]
    assert len(sent) == 2
    assert sent[0]["code"] == sent[1]["code"]


async def test_twilio_verification_expires_after_ten_minutes(
    on_twilio: Caller, emulator: RunningEmulator, clock: ManualClock
) -> None:
    """The right code ten minutes later answers expired."""
    started = (await start(on_twilio.http, to=US_MOBILE)).json()
    code = await _code(emulator)
    clock.advance(600)
    assert (await check(on_twilio.http, code, id=started["id"])).json()["status"] == "expired"


async def test_twilio_engine_is_throttled_like_the_builtin(on_twilio: Caller) -> None:
    """The sixth start to one number is refused before Twilio is asked."""
    for _ in range(5):
        await start(on_twilio.http, to=US_MOBILE)
    assert_problem(await start(on_twilio.http, to=US_MOBILE), 429, "verification_throttled")


async def test_twilio_approval_emits_an_event(
    on_twilio: Caller, emulator: RunningEmulator, engine: AsyncEngine
) -> None:
    """An approval by Twilio Verify is a verification.approved event too."""
    started = (await start(on_twilio.http, to=US_MOBILE)).json()
    await check(on_twilio.http, await _code(emulator), id=started["id"])
    async with engine.connect() as connection:
        found: list[Any] = list(
            await connection.scalars(
                select(events.c.type).where(events.c.tenant_id == on_twilio.tenant.id)
            )
        )
    assert found == ["verification.approved"]


async def test_twilio_engine_without_credentials_is_unavailable(alice: Caller) -> None:
    """A tenant on twilio_verify without Twilio credentials gets service_unavailable."""
    await alice.http.put("/v1/verifications/settings", json={"engine": "twilio_verify"})
    assert_problem(await start(alice.http, to=US_MOBILE), 503, "service_unavailable")
