"""Webhook de-duplication and the expiry of remembered keys.

Twilio delivers a status callback at least once, sometimes twice; `WebhookReceipts.first_time`
(and `StatusReports.apply`, which records a status callback's key with its report) says whether
a callback's key (its `I-Twilio-Idempotency-Token`, else `MessageSid:MessageStatus`)
is new, atomically through the table's unique key, so that two copies processed at the same
instant on two connections still count once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.storage.dialect import insert_ignoring_duplicates, write_transaction
from herald.storage.schema import idempotency_keys, webhook_receipts


class WebhookReceipts:
    """Remembers which webhooks were already received."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def first_time(self, key: str, *, received_at: datetime) -> bool:
        """Record `key`; True if it was new, False if a webhook with this key came before."""
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                insert_ignoring_duplicates(
                    connection, webhook_receipts, {"key": key, "received_at": received_at}
                )
            )
            return result.rowcount == 1

    async def expire(self, *, before: datetime) -> int:
        """Forget receipts older than `before`; returns how many."""
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                delete(webhook_receipts).where(webhook_receipts.c.received_at < before)
            )
            return result.rowcount


class IdempotencyKeys:
    """The expiry of API Idempotency-Keys (they are written by `MessageRepository.accept`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def expire(self, *, before: datetime) -> int:
        """Forget keys created before `before` (now minus HERALD_IDEMPOTENCY_HOURS)."""
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < before)
            )
            return result.rowcount
