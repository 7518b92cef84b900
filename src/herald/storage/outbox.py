"""The worker's side of the outbox: claim due messages under a lease, record what happened.

The protocol (docs/storage.md has the long form):

1. `claim` leases up to `limit` due messages to one worker for `lease_seconds`, in one
   statement, and counts an attempt. Due means waiting (`accepted` or `scheduled`), its
   `next_attempt_at` reached, and no live lease.
2. The worker sends each message, then records the outcome with `mark_sent`,
   `schedule_retry`, `mark_failed` or `release`. Each takes effect only while the lease is
   still the worker's (`lease_owner` is it and `lease_expires_at` is in the future) and
   answers False otherwise: another worker may have taken the message over, and the first
   worker's late word must not overwrite the second's.
3. A worker that dies holds nothing for long: once its lease expires the message is due again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.lifecycle import Status, apply_status
from herald.domain.records import HistorySource, MessageRecord
from herald.errors import InvalidInput
from herald.storage.dialect import claim_statement, write_transaction
from herald.storage.history import append_history, emit_status_changed, message_from_row
from herald.storage.schema import messages

_WAITING = (Status.ACCEPTED.value, Status.SCHEDULED.value)


class Outbox:
    """Claims and settles messages for workers; all of it guarded by leases."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(
        self, worker_id: str, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[MessageRecord]:
        """Lease up to `limit` due messages to `worker_id`, oldest due first."""
        if limit < 1 or lease_seconds <= 0:
            raise InvalidInput("claim needs a positive limit and lease.")
        m = messages.c
        due = and_(
            m.status.in_(_WAITING),
            m.next_attempt_at <= now,
            or_(m.lease_expires_at.is_(None), m.lease_expires_at <= now),
        )
        async with write_transaction(self._engine) as connection:
            statement = claim_statement(
                connection,
                messages,
                due=due,
                order_by=[m.next_attempt_at, m.id],
                limit=limit,
                values={
                    "lease_owner": worker_id,
                    "lease_expires_at": now + timedelta(seconds=lease_seconds),
                    "attempts": m.attempts + 1,
                },
            )
            rows = (await connection.execute(statement)).all()
        claimed = [message_from_row(row) for row in rows]
        claimed.sort(key=lambda record: (record.next_attempt_at or now, record.id))
        return claimed

    async def renew(
        self, message_id: str, worker_id: str, *, now: datetime, lease_seconds: float
    ) -> bool:
        """Extend a lease the worker still holds (a slow send); False if it was lost."""
        return await self._settle(
            message_id,
            worker_id,
            now,
            {"lease_expires_at": now + timedelta(seconds=lease_seconds)},
        )

    async def release(
        self, message_id: str, worker_id: str, *, now: datetime, next_attempt_at: datetime
    ) -> bool:
        """Give a message back untried (say, its sender's rate is exhausted) until a later time.

        The attempt `claim` counted is taken back: nothing was sent.
        """
        return await self._settle(
            message_id,
            worker_id,
            now,
            {"next_attempt_at": next_attempt_at, "attempts": messages.c.attempts - 1},
        )

    async def schedule_retry(
        self,
        message_id: str,
        worker_id: str,
        *,
        now: datetime,
        next_attempt_at: datetime,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Record a failed attempt that may succeed later, and when to try again."""
        return await self._settle(
            message_id,
            worker_id,
            now,
            {
                "next_attempt_at": next_attempt_at,
                "error_code": error_code,
                "error_message": error_message,
            },
        )

    async def mark_sent(
        self,
        message_id: str,
        worker_id: str,
        *,
        now: datetime,
        provider_sid: str,
        status: Status = Status.QUEUED,
        provider_status: str | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Record that the provider took the message (`status` as its answer said).

        A message adopted by a look-up may already have ended `failed` or `undelivered` at the
        provider: `error_code` and `error_message` are then the provider's, kept with it.
        """
        return await self._finish(
            message_id,
            worker_id,
            now,
            reported=status,
            values={
                "provider_sid": provider_sid,
                "error_code": error_code,
                "error_message": error_message,
            },
            provider_status=provider_status,
            error_code=error_code,
            error_message=error_message,
        )

    async def mark_failed(
        self,
        message_id: str,
        worker_id: str,
        *,
        now: datetime,
        error_code: int | None,
        error_message: str,
        provider_sid: str | None = None,
    ) -> bool:
        """Record that the message will not be sent: a permanent error, or attempts used up."""
        values: dict[str, Any] = {"error_code": error_code, "error_message": error_message}
        if provider_sid is not None:
            values["provider_sid"] = provider_sid
        return await self._finish(
            message_id,
            worker_id,
            now,
            reported=Status.FAILED,
            values=values,
            error_code=error_code,
            error_message=error_message,
        )

    async def _settle(
        self, message_id: str, worker_id: str, now: datetime, values: dict[str, Any]
    ) -> bool:
        keep_lease = "lease_expires_at" in values
        if not keep_lease:
            values = {**values, "lease_owner": None, "lease_expires_at": None}
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                update(messages)
                .where(_held(message_id, worker_id, now))
                .values(**values, updated_at=now)
                .returning(messages.c.id)
            )
            return result.first() is not None

    async def _finish(
        self,
        message_id: str,
        worker_id: str,
        now: datetime,
        *,
        reported: Status,
        values: dict[str, Any],
        provider_status: str | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> bool:
        async with write_transaction(self._engine) as connection:
            before = await _held_row(connection, message_id, worker_id, now)
            if before is None:
                return False
            transition = apply_status(before.status, reported)
            row = (
                await connection.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(
                        **values,
                        status=transition.current.value,
                        next_attempt_at=None,
                        lease_owner=None,
                        lease_expires_at=None,
                        updated_at=now,
                    )
                    .returning(*messages.c)
                )
            ).one()
            await append_history(
                connection,
                message_id=message_id,
                status=reported,
                source=HistorySource.WORKER,
                occurred_at=now,
                recorded_at=now,
                applied=transition.changed,
                provider_status=provider_status,
                error_code=error_code,
                error_message=error_message,
            )
            if transition.changed:
                await emit_status_changed(
                    connection,
                    message_from_row(row),
                    previous=before.status,
                    occurred_at=now,
                    now=now,
                )
            return True


def _held(message_id: str, worker_id: str, now: datetime) -> ColumnElement[bool]:
    m = messages.c
    return and_(m.id == message_id, m.lease_owner == worker_id, m.lease_expires_at > now)


async def _held_row(
    connection: AsyncConnection, message_id: str, worker_id: str, now: datetime
) -> MessageRecord | None:
    query = select(messages).where(_held(message_id, worker_id, now)).with_for_update()
    row = (await connection.execute(query)).first()
    return None if row is None else message_from_row(row)
