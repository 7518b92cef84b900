"""Status reports about sent messages: Twilio's callbacks and Herald's own look-ups.

Reports arrive late, twice and out of order. Each one is appended to the message's history;
the message's status changes only when `domain.lifecycle.apply_status` says it moves forwards,
and then a `message.status_changed` event is appended in the same transaction. The message row
is locked while this happens, so two reports about one message are applied one after the
other, never interleaved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status, apply_status
from herald.domain.records import HistorySource, ReportOutcome
from herald.errors import InvalidInput
from herald.storage.dialect import write_transaction
from herald.storage.history import append_history, emit_status_changed, message_from_row
from herald.storage.schema import messages


class StatusReports:
    """Applies status reports to messages, forwards only."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply_report(
        self,
        *,
        reported: Status,
        occurred_at: datetime,
        now: datetime,
        source: HistorySource,
        provider_sid: str | None = None,
        message_id: str | None = None,
        tenant_id: str | None = None,
        provider_status: str | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> ReportOutcome | None:
        """Record a report about the message with this `provider_sid` (or Herald `message_id`).

        Returns None when no such message exists (a callback for a message Herald has not yet
        recorded as sent, or for another system's message); `tenant_id`, when given, limits
        the search to that tenant. Otherwise the report is in the history, whether it changed
        the status or not; `outcome.transition.changed` says which.
        """
        if (provider_sid is None) == (message_id is None):
            raise InvalidInput("A status report names its message by provider_sid or message_id.")
        m = messages.c
        query = select(messages).with_for_update()
        if provider_sid is not None:
            query = query.where(m.provider_sid == provider_sid)
        else:
            query = query.where(m.id == message_id)
        if tenant_id is not None:
            query = query.where(m.tenant_id == tenant_id)
        async with write_transaction(self._engine) as connection:
            row = (await connection.execute(query.order_by(m.created_at.desc()).limit(1))).first()
            if row is None:
                return None
            before = message_from_row(row)
            transition = apply_status(before.status, reported)
            after = before
            if transition.changed:
                values: dict[str, Any] = {"status": transition.current.value, "updated_at": now}
                if error_code is not None or error_message is not None:
                    values.update(error_code=error_code, error_message=error_message)
                updated = await connection.execute(
                    update(messages)
                    .where(m.id == before.id)
                    .values(**values)
                    .returning(*messages.c)
                )
                after = message_from_row(updated.one())
            change = await append_history(
                connection,
                message_id=before.id,
                status=reported,
                source=source,
                occurred_at=occurred_at,
                recorded_at=now,
                applied=transition.changed,
                provider_status=provider_status,
                error_code=error_code,
                error_message=error_message,
            )
            if transition.changed:
                await emit_status_changed(
                    connection, after, previous=before.status, occurred_at=occurred_at, now=now
                )
            return ReportOutcome(message=after, transition=transition, change=change)
