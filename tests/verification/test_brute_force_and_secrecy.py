"""Guessing never beats the attempt limit, and the code never leaks into logs, events or answers."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api import ApiDeps
from herald.domain.problems import ProblemError
from herald.storage.schema import events, verifications
from tests.api.api_helpers import Caller
from tests.verification.verification_helpers import check, other_code, sent_code, start

GUESSES = 10_000
CONCURRENT = 16
"""Guesses in flight at once: as many as the PostgreSQL pool has connections."""


def _wrong_guesses(code: str, count: int) -> list[str]:
    """`count` six-digit guesses, none of them `code`."""
    guesses: list[str] = []
    value = 0
    while len(guesses) < count:
        guess = f"{value:06d}"
        if guess != code:
            guesses.append(guess)
        value += 1
    return guesses


@pytest.mark.slow
async def test_ten_thousand_wrong_guesses_never_approve(
    alice: Caller, deps: ApiDeps, engine: AsyncEngine
) -> None:
    """10,000 concurrent wrong guesses end the verification after five checks, never approved."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    service = deps.verifications
    assert service is not None
    guesses = _wrong_guesses(code, GUESSES)
    seen: set[str] = set()
    for offset in range(0, GUESSES, CONCURRENT):
        batch = guesses[offset : offset + CONCURRENT]
        results = await asyncio.gather(
            *(service.check(alice.tenant, guess, verification_id=started["id"]) for guess in batch)
        )
        seen.update(result.status.value for result in results)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(verifications.c.status, verifications.c.checks).where(
                    verifications.c.id == started["id"]
                )
            )
        ).one()
    assert "approved" not in seen
    assert (row.status, row.checks) == ("max_attempts_reached", 5)
    final = await service.check(alice.tenant, code, verification_id=started["id"])
    assert final.status.value == "max_attempts_reached"


async def test_guesses_over_http_from_many_ips_stop_at_the_limit(
    alice: Caller, engine: AsyncEngine
) -> None:
    """200 wrong guesses from 200 client IPs never approve; the right code then fails too."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    statuses = set()
    for index, guess in enumerate(_wrong_guesses(code, 200)):
        response = await alice.http.post(
            "/v1/verifications/check",
            json={"code": guess, "id": started["id"]},
            headers={"X-Forwarded-For": f"198.51.{index // 250}.{index % 250}"},
        )
        statuses.add(response.json()["status"])
    assert statuses == {"pending", "max_attempts_reached"}
    final = await check(alice.http, code, id=started["id"])
    assert final.json()["status"] == "max_attempts_reached"


async def test_code_never_appears_in_logs_events_or_answers(
    alice: Caller, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Start, resend, wrong check and approval log, emit and answer nothing with the code."""
    caplog.set_level(logging.DEBUG)
    answers = [await start(alice.http)]
    verification_id = answers[0].json()["id"]
    answers.append(await start(alice.http))
    code = await sent_code(engine, verification_id)
    answers.append(await check(alice.http, other_code(code), id=verification_id))
    answers.append(await check(alice.http, code, id=verification_id))
    message_id = None
    async with engine.connect() as connection:
        message_id = await connection.scalar(
            select(verifications.c.message_id).where(verifications.c.id == verification_id)
        )
        payloads = [str(row.payload) for row in await connection.execute(select(events))]
    answers.append(await alice.http.get(f"/v1/messages/{message_id}"))
    answers.append(await alice.http.get("/v1/messages"))
    answers.append(await alice.http.get("/v1/events"))
    assert answers[3].json()["status"] == "approved"
    assert payloads
    assert code not in caplog.text
    assert all(code not in payload for payload in payloads)
    assert all(code not in answer.text for answer in answers)


async def test_concurrent_right_codes_approve_once(
    alice: Caller, deps: ApiDeps, engine: AsyncEngine
) -> None:
    """Ten simultaneous checks of the right code approve exactly one; the rest are not_found."""
    started = (await start(alice.http)).json()
    code = await sent_code(engine, started["id"])
    service = deps.verifications
    assert service is not None
    results = await asyncio.gather(
        *(service.check(alice.tenant, code, verification_id=started["id"]) for _ in range(10)),
        return_exceptions=True,
    )
    approved = [each for each in results if not isinstance(each, BaseException)]
    refused = [each for each in results if isinstance(each, ProblemError)]
    assert [each.status.value for each in approved] == ["approved"]
    assert {each.code for each in refused} == {"not_found"}
    assert len(refused) == 9
