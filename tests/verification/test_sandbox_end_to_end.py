"""Verifications end to end in sandbox: `herald serve`'s gateway, worker and emulator over HTTP."""

from __future__ import annotations

import re

from tests.e2e.conftest import herald
from tests.e2e.helpers import RunningHerald, received_by

__all__ = ["herald"]

PHONE = "+12015550101"
"""A US mobile in the emulator's block whose messages end `delivered` (docs/emulator.md)."""


async def test_builtin_code_reaches_the_phone_and_approves(herald: RunningHerald) -> None:
    """The worker sends the built-in code to the emulator's phone, and that code approves."""
    started = await herald.api.post("/v1/verifications", json={"to": PHONE, "channel": "sms"})
    assert started.status_code == 201, started.text
    [received] = await received_by(herald, PHONE, count=1)
    found = re.search(r"\b(\d{6})\b", received["body"])
    assert found is not None, received["body"]
    checked = await herald.api.post(
        "/v1/verifications/check", json={"id": started.json()["id"], "code": found.group(1)}
    )
    assert checked.json()["status"] == "approved"


async def test_twilio_verify_engine_works_in_sandbox(herald: RunningHerald) -> None:
    """A sandbox tenant on twilio_verify gets its code from the emulator's Verify; it approves."""
    chosen = await herald.api.put("/v1/verifications/settings", json={"engine": "twilio_verify"})
    assert chosen.status_code == 200, chosen.text
    started = await herald.api.post("/v1/verifications", json={"to": PHONE, "channel": "sms"})
    assert started.status_code == 201, started.text
    codes = await herald.emulator.get("/_emulator/verify/codes", params={"to": PHONE})
    code = codes.json()["codes"][0]["code"]
    checked = await herald.api.post("/v1/verifications/check", json={"to": PHONE, "code": code})
    assert checked.json()["status"] == "approved"
