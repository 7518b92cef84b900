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

The final words (`mark_sent`, `mark_failed`) of sends finishing together are recorded in one
transaction (`herald.storage.group_commit`): the messages are locked in the order of their
ids, each lease checked as if alone, and the updates, history entries and events written with
one statement per table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.lifecycle import Status, apply_status
from herald.domain.records import HistorySource, MessageRecord
from herald.errors import InvalidInput
from herald.storage.dialect import claim_statement, in_write_transaction, write_transaction
from herald.storage.events import MESSAGE_STATUS_CHANGED, NewEvent, append_events
from herald.storage.group_commit import GroupCommit
from herald.storage.history import (
    NewHistoryEntry,
    append_histories,
    message_from_row,
    status_changed_payload,
)
from herald.storage.schema import messages

_WAITING = (Status.ACCEPTED.value, Status.SCHEDULED.value)


class Outbox:
    """Claims and settles messages for workers; all of it guarded by leases."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Sends finishing together record their outcomes in one transaction.
        self._finishes = GroupCommit(self._finish_many, self._finish_alone)

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
        finish = _Finish(
            message_id,
            worker_id,
            now,
            reported,
            values,
            _Detail(provider_status, error_code, error_message),
        )
        if in_write_transaction():
            return await self._finish_alone(finish)  # the caller's transaction holds the lock
        return await self._finishes.submit(finish)

    async def _finish_alone(self, finish: _Finish) -> bool:
        async with write_transaction(self._engine) as connection:
            [done] = await _finish_all(connection, [finish])
            return done

    async def _finish_many(self, batch: Sequence[_Finish]) -> list[bool]:
        async with write_transaction(self._engine) as connection:
            return await _finish_all(connection, batch)


@dataclasses.dataclass(frozen=True, slots=True)
class _Detail:
    """What the provider said, kept in the history entry of a finished attempt."""

    provider_status: str | None = None
    error_code: int | None = None
    error_message: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Finish:
    """A worker's final word on a message it holds: the status and the columns to set."""

    message_id: str
    worker_id: str
    now: datetime
    reported: Status
    values: dict[str, Any]  # provider_sid, error_code, error_message
    detail: _Detail


async def _finish_all(connection: AsyncConnection, batch: Sequence[_Finish]) -> list[bool]:
    """Record each finish whose message its worker still holds, in order; one statement per
    table for the batch. True for each recorded, False for each whose lease was lost."""
    ids = sorted({finish.message_id for finish in batch})
    query = select(messages).where(messages.c.id.in_(ids)).order_by(messages.c.id).with_for_update()
    current = {row.id: message_from_row(row) for row in await connection.execute(query)}
    done: list[bool] = []
    finished: list[MessageRecord] = []
    entries: list[NewHistoryEntry] = []
    new_events: list[NewEvent] = []
    for finish in batch:
        before = current.get(finish.message_id)
        if before is None or not _holds(before, finish.worker_id, finish.now):
            done.append(False)
            continue
        transition = apply_status(before.status, finish.reported)
        after = dataclasses.replace(
            before,
            **finish.values,
            status=transition.current,
            next_attempt_at=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=finish.now,
        )
        current[after.id] = after  # a second word on it in this batch finds the lease gone
        finished.append(after)
        detail = finish.detail
        entries.append(
            NewHistoryEntry(
                message_id=after.id,
                status=finish.reported,
                source=HistorySource.WORKER,
                occurred_at=finish.now,
                recorded_at=finish.now,
                applied=transition.changed,
                provider_status=detail.provider_status,
                error_code=detail.error_code,
                error_message=detail.error_message,
            )
        )
        if transition.changed:
            payload = status_changed_payload(after, before.status, finish.now)
            new_events.append(
                NewEvent(after.tenant_id, MESSAGE_STATUS_CHANGED, payload, finish.now)
            )
        done.append(True)
    if finished:
        await connection.execute(
            _FINISH,
            [
                {
                    "message_id": message.id,
                    "status": message.status.value,
                    "provider_sid": message.provider_sid,
                    "error_code": message.error_code,
                    "error_message": message.error_message,
                    "updated_at": message.updated_at,
                }
                for message in finished
            ],
        )
        await append_histories(connection, entries)
    if new_events:
        await append_events(connection, new_events)
    return done


# Built once: every finish sets the same columns, whatever its kind.
_FINISH: Final = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        status=bindparam("status"),
        provider_sid=bindparam("provider_sid"),
        error_code=bindparam("error_code"),
        error_message=bindparam("error_message"),
        next_attempt_at=None,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("updated_at"),
    )
)


def _holds(message: MessageRecord, worker_id: str, now: datetime) -> bool:
    """Whether `worker_id`'s lease on `message` is live at `now`."""
    return (
        message.lease_owner == worker_id
        and message.lease_expires_at is not None
        and message.lease_expires_at > now
    )


def _held(message_id: str, worker_id: str, now: datetime) -> ColumnElement[bool]:
    m = messages.c
    return and_(m.id == message_id, m.lease_owner == worker_id, m.lease_expires_at > now)
