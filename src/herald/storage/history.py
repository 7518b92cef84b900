"""A message's history and the events it emits: shared by accepting, sending and reports.

Every status anyone reports about a message is appended to `message_status_history`, applied
or not, so that nothing Twilio said is lost; when the status moves, a `message.status_changed`
event is appended in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from herald.domain.events import message_status_changed_data
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import HistorySource, MessageRecord, Purpose, StatusChange
from herald.storage.events import MESSAGE_STATUS_CHANGED, NewEvent, append_event, append_events
from herald.storage.schema import message_status_history as history


async def append_history(
    connection: AsyncConnection,
    *,
    message_id: str,
    status: Status,
    source: HistorySource,
    occurred_at: datetime,
    recorded_at: datetime,
    applied: bool,
    provider_status: str | None = None,
    error_code: int | None = None,
    error_message: str | None = None,
) -> StatusChange:
    """Append one report to the message's history inside the caller's transaction."""
    values: dict[str, Any] = {
        "message_id": message_id,
        "status": status.value,
        "provider_status": provider_status,
        "error_code": error_code,
        "error_message": error_message,
        "source": source.value,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "applied": applied,
    }
    result = await connection.execute(insert(history).values(**values).returning(history.c.id))
    return StatusChange(
        id=result.scalar_one(),
        message_id=message_id,
        status=status,
        provider_status=provider_status,
        error_code=error_code,
        error_message=error_message,
        source=source,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        applied=applied,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class NewHistoryEntry:
    """A report to append to a message's history (`append_histories`)."""

    message_id: str
    status: Status
    source: HistorySource
    occurred_at: datetime
    recorded_at: datetime
    applied: bool
    provider_status: str | None = None
    error_code: int | None = None
    error_message: str | None = None


async def append_histories(connection: AsyncConnection, entries: Sequence[NewHistoryEntry]) -> None:
    """Append reports to their messages' histories in one statement, in the caller's transaction."""
    await connection.execute(
        insert(history),
        [
            {
                "message_id": entry.message_id,
                "status": entry.status.value,
                "provider_status": entry.provider_status,
                "error_code": entry.error_code,
                "error_message": entry.error_message,
                "source": entry.source.value,
                "occurred_at": entry.occurred_at,
                "recorded_at": entry.recorded_at,
                "applied": entry.applied,
            }
            for entry in entries
        ],
    )


async def emit_accepted(connection: AsyncConnection, records: Sequence[MessageRecord]) -> None:
    """Append each newly accepted message's first `message.status_changed` event."""
    await append_events(
        connection,
        [
            NewEvent(
                record.tenant_id,
                MESSAGE_STATUS_CHANGED,
                status_changed_payload(record, None, record.created_at),
                record.created_at,
            )
            for record in records
        ],
    )


async def emit_status_changed(
    connection: AsyncConnection,
    message: MessageRecord,
    *,
    previous: Status | None,
    occurred_at: datetime,
    now: datetime,
) -> None:
    """Append the `message.status_changed` event for `message`'s current status."""
    await append_event(
        connection,
        tenant_id=message.tenant_id,
        type_=MESSAGE_STATUS_CHANGED,
        payload=status_changed_payload(message, previous, occurred_at),
        now=now,
    )


def status_changed_payload(
    message: MessageRecord, previous: Status | None, occurred_at: datetime
) -> dict[str, Any]:
    """The `data` of a `message.status_changed` event for `message` as it is now."""
    payload = message_status_changed_data(
        message_id=message.id,
        channel=message.channel,
        to=message.to,
        from_=message.from_ or "",
        status=message.status,
        previous_status=previous or message.status,
        occurred_at=occurred_at,
        error_code=message.error_code,
        error_message=message.error_message,
        provider_sid=message.provider_sid,
        metadata=message.metadata,
    )
    if previous is None:
        # A message's first event (it was accepted or scheduled) has no status before it.
        payload["previous_status"] = None
    return payload


async def read_history(connection: AsyncConnection, message_id: str) -> list[StatusChange]:
    """The message's history in the order it was recorded."""
    rows = await connection.execute(
        select(history).where(history.c.message_id == message_id).order_by(history.c.id)
    )
    return [
        StatusChange(
            id=row.id,
            message_id=row.message_id,
            status=Status(row.status),
            provider_status=row.provider_status,
            error_code=row.error_code,
            error_message=row.error_message,
            source=HistorySource(row.source),
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            applied=row.applied,
        )
        for row in rows
    ]


def message_from_row(row: Row[Any]) -> MessageRecord:
    """A `MessageRecord` from a row of `messages`."""
    return MessageRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=Channel(row.channel),
        to=row.to_address,
        from_=row.from_address,
        body=row.body,
        encoding=row.encoding,
        segments=row.segments,
        status=Status(row.status),
        purpose=Purpose(row.purpose),
        metadata=row.metadata,
        template=row.template,
        template_variables=row.template_variables,
        content_sid=row.content_sid,
        content_variables=row.content_variables,
        media_urls=tuple(row.media_urls),
        send_at=row.send_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        provider_sid=row.provider_sid,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        idempotency_key=row.idempotency_key,
    )
