"""Messages stuck with the provider: claimed for reconciliation, one worker at a time.

A message Herald handed over (it has a provider SID) and whose status is not final yet
(`queued`, `sending`, `sent`) normally moves on when Twilio's status callback comes. When the
callback never comes, the worker asks Twilio (worker/reconcile.py). This module picks those
messages:

- **Due** means: in a non-final status after the hand-over, with a provider SID, its last
  status change (`updated_at`) at least `after` ago but less than `HORIZON` ago, and its
  `reconcile_at` (the earliest next check) reached or never set.
- **Claiming** sets `reconciled_at` (the last check) to now and `reconcile_at` to now + `after`
  in the same statement, under `FOR UPDATE SKIP LOCKED` on PostgreSQL (one writer at a time on
  SQLite): no two workers check one message at once, and a worker that dies mid-check leaves
  the message due again only after `after`.
- After the check, `checked` sets `reconcile_at` to when it may be asked about next.

Neither touches `updated_at`, which stays the time of the last status change. The status itself
is changed only through `StatusReports.apply_report` (forwards only, with its history and
event).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.records import MessageRecord
from herald.errors import InvalidInput
from herald.storage.dialect import claim_statement, write_transaction
from herald.storage.history import message_from_row
from herald.storage.schema import messages

UNSETTLED: Final = (Status.QUEUED, Status.SENDING, Status.SENT)
"""The statuses a message may be stuck in with the provider."""

HORIZON: Final = timedelta(days=3)
"""A message whose status has not changed for this long is no longer asked about: its carrier
sends no delivery receipt (Twilio then keeps it `sent` for good)."""


class Reconciliations:
    """Claims messages stuck in a non-final provider status, and records their checks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, *, now: datetime, after: timedelta, limit: int) -> list[MessageRecord]:
        """Up to `limit` due messages (see the module docstring), longest stuck first."""
        if limit < 1 or after <= timedelta(0):
            raise InvalidInput("A reconciliation claim needs a positive limit and interval.")
        m = messages.c
        due = and_(
            m.status.in_([status.value for status in UNSETTLED]),
            m.provider_sid.is_not(None),
            m.updated_at <= now - after,
            m.updated_at > now - HORIZON,
            or_(m.reconcile_at.is_(None), m.reconcile_at <= now),
        )
        async with write_transaction(self._engine) as connection:
            statement = claim_statement(
                connection,
                messages,
                due=due,
                order_by=[m.updated_at, m.id],
                limit=limit,
                values={"reconciled_at": now, "reconcile_at": now + after},
            )
            rows = (await connection.execute(statement)).all()
        claimed = [message_from_row(row) for row in rows]
        claimed.sort(key=lambda record: (record.updated_at, record.id))
        return claimed

    async def checked(self, message_id: str, *, next_check_at: datetime) -> None:
        """Record that the message may be asked about again from `next_check_at` on."""
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(reconcile_at=next_check_at)
            )

    async def check_times(self, message_id: str) -> tuple[datetime | None, datetime | None]:
        """(`reconciled_at`, `reconcile_at`) of a message: its last check and its next."""
        m = messages.c
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    messages.select()
                    .with_only_columns(m.reconciled_at, m.reconcile_at)
                    .where(m.id == message_id)
                )
            ).first()
        if row is None:
            return None, None
        return row.reconciled_at, row.reconcile_at
