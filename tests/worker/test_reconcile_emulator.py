"""Reconciliation against the real emulator, on SQLite and PostgreSQL: every status callback is
dropped (emulator chaos `callback_drop: 1`), and messages still reach the status Twilio has."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.e2e.helpers import RunningHerald, eventually, get_message, send, start_herald

RECONCILE_AFTER: Final = 1.0
# Recipients in the emulator's block whose messages end as their last two digits say
# (docs/emulator.md, "Lifecycle and outcomes").
EXPECTED: Final = {
    "+12015550100": ("delivered", None),
    "+12015550110": ("undelivered", 30003),
    "+12015550170": ("sent", None),  # no delivery receipt: Twilio keeps it `sent`
    "+12015550180": ("failed", 30008),
}


@pytest.fixture
async def herald(database_url: str, tmp_path: Path) -> AsyncIterator[RunningHerald]:
    """Herald in sandbox with its worker reconciling after one second, and its emulator."""
    async with start_herald(
        database_url,
        tmp_path / "herald",
        worker_poll_seconds=0.02,
        delivery_step_seconds=0.005,
        sandbox_number_rate=100,
        reconcile_after_seconds=RECONCILE_AFTER,
    ) as running:
        yield running


async def _emulator_status(herald: RunningHerald, sid: str) -> str:
    path = f"/2010-04-01/Accounts/{herald.account_sid}/Messages/{sid}.json"
    response = await herald.emulator.get(path, auth=herald.emulator_auth)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_messages_whose_callbacks_were_dropped_reach_their_status(
    herald: RunningHerald,
) -> None:
    """No callback arrives, yet each message ends as Twilio has it, through reconciliation."""
    chaos = await herald.emulator.put("/_emulator/chaos", json={"seed": 3, "callback_drop": 1})
    assert chaos.status_code == 200, chaos.text
    accepted = {
        to: await send(herald, channel="sms", to=to, body=f"Parcel for {to[-4:]}")
        for to in EXPECTED
    }

    async def reconciled(message_id: str, status: str) -> dict[str, Any] | None:
        message = await get_message(herald, message_id)
        sources = {entry["source"] for entry in message["history"]}
        return message if message["status"] == status and "reconcile" in sources else None

    for to, (status, error_code) in EXPECTED.items():
        message = await eventually(
            functools.partial(reconciled, accepted[to]["id"], status),
            what=f"{to} {status} by reconciliation",
            within=30,
        )
        assert message["error_code"] == error_code
        assert await _emulator_status(herald, message["provider_sid"]) == status
        assert "callback" not in {entry["source"] for entry in message["history"]}
    counts = (await herald.emulator.get("/_emulator/chaos")).json()["default"]["counts"]
    assert counts.get("callback_drop", 0) >= len(EXPECTED)


async def test_a_message_deleted_at_twilio_keeps_its_status_and_its_history_says_why(
    herald: RunningHerald,
) -> None:
    """Twilio's 404 is recorded (error 20404, not applied); the status is not invented."""
    await herald.emulator.put("/_emulator/chaos", json={"callback_drop": 1})
    to = "+12015550171"
    accepted = await send(herald, channel="sms", to=to, body="No receipt for this one")

    async def sent() -> dict[str, Any] | None:
        message = await get_message(herald, accepted["id"])
        return message if message["status"] == "sent" else None

    message = await eventually(sent, what="sent by reconciliation", within=30)
    sid = message["provider_sid"]
    path = f"/2010-04-01/Accounts/{herald.account_sid}/Messages/{sid}.json"
    deleted = await herald.emulator.delete(path, auth=herald.emulator_auth)
    assert deleted.status_code == 204, deleted.text

    async def missing() -> dict[str, Any] | None:
        found = await get_message(herald, accepted["id"])
        notes = [entry for entry in found["history"] if entry["error_code"] == 20404]
        return notes[-1] if notes else None

    note = await eventually(missing, what="the 404 in the history", within=30)
    assert (note["source"], note["applied"], note["status"]) == ("reconcile", False, "sent")
    assert (await get_message(herald, accepted["id"]))["status"] == "sent"
