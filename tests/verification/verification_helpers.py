"""Helpers for the verification tests: reading the code a phone received, starting and checking."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.storage.schema import messages, verifications

NL_MOBILE = "+31612345678"
"""A Dutch mobile, the number most tests verify."""

_CODE = re.compile(r"\b(\d{4,10})\b")


async def sent_code(engine: AsyncEngine, verification_id: str) -> str:
    """The code in the outbox message of a built-in verification (what the phone gets)."""
    async with engine.connect() as connection:
        message_id = await connection.scalar(
            select(verifications.c.message_id).where(verifications.c.id == verification_id)
        )
        body = await connection.scalar(select(messages.c.body).where(messages.c.id == message_id))
    assert isinstance(body, str)
    found = _CODE.search(body)
    assert found is not None, body
    return found.group(1)


def other_code(code: str) -> str:
    """A code of the same length that is certainly not `code`."""
    return "".join(str((int(digit) + 1) % 10) for digit in code)


async def start(http: httpx.AsyncClient, to: str = NL_MOBILE, **fields: Any) -> httpx.Response:
    """POST /v1/verifications."""
    return await http.post("/v1/verifications", json={"to": to, "channel": "sms", **fields})


async def check(http: httpx.AsyncClient, code: str, **fields: Any) -> httpx.Response:
    """POST /v1/verifications/check."""
    return await http.post("/v1/verifications/check", json={"code": code, **fields})
