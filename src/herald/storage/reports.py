"""Status reports about sent messages: Twilio's callbacks and Herald's own look-ups.

Reports arrive late, twice and out of order. Each one is appended to the message's history;
the message's status changes only when `domain.lifecycle.apply_status` says it moves forwards,
and then a `message.status_changed` event is appended in the same transaction. The message row
is locked while this happens, so two reports about one message are applied one after the
other, never interleaved.

A report may carry a `receipt`, the de-duplication key of the webhook that brought it: the key
is recorded in the transaction that applies the report, so a report is applied exactly when its
key is new. A report whose key was seen before changes nothing (`SEEN`); one whose message is
not found leaves its key unrecorded, so that a retry of the webhook is applied.

Reports arriving together share one transaction (`herald.storage.group_commit`): one statement
per table for the whole batch, the messages locked in the order of their ids.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import String, any_, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.lifecycle import Status, Transition, apply_status
from herald.domain.records import HistorySource, MessageRecord, ReportOutcome, StatusChange
from herald.errors import InvalidInput
from herald.storage.dialect import in_write_transaction, is_postgresql, write_transaction
from herald.storage.events import MESSAGE_STATUS_CHANGED, NewEvent, append_events
from herald.storage.group_commit import GroupCommit
from herald.storage.history import message_from_row, status_changed_payload
from herald.storage.schema import message_status_history as history
from herald.storage.schema import messages, webhook_receipts


class Seen(enum.Enum):
    """A report whose receipt key was recorded before: not applied again."""

    BEFORE = "before"


SEEN: Final = Seen.BEFORE


@dataclasses.dataclass(frozen=True, slots=True)
class StatusReport:
    """One report about the message with this `provider_sid` (or Herald `message_id`).

    `tenant_id`, when given, limits the search to that tenant; `receipt` is the de-duplication
    key of the webhook that brought it (see the module docstring).
    """

    reported: Status
    occurred_at: datetime
    now: datetime
    source: HistorySource
    provider_sid: str | None = None
    message_id: str | None = None
    tenant_id: str | None = None
    provider_status: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    receipt: str | None = None

    def __post_init__(self) -> None:
        if (self.provider_sid is None) == (self.message_id is None):
            raise InvalidInput("A status report names its message by provider_sid or message_id.")

    def names(self, message: MessageRecord) -> bool:
        """Whether this report is about `message`."""
        if self.tenant_id is not None and message.tenant_id != self.tenant_id:
            return False
        if self.provider_sid is not None:
            return message.provider_sid == self.provider_sid
        return message.id == self.message_id


Applied = ReportOutcome | Seen | None


class StatusReports:
    """Applies status reports to messages, forwards only."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._batches = GroupCommit(self._apply_many, self._apply_one)

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
        """Record one report (see `StatusReport`) that no webhook receipt guards.

        Returns None when no such message exists (a callback for a message Herald has not yet
        recorded as sent, or for another system's message). Otherwise the report is in the
        history, whether it changed the status or not; `outcome.transition.changed` says which.
        """
        outcome = await self.apply(
            StatusReport(
                reported=reported,
                occurred_at=occurred_at,
                now=now,
                source=source,
                provider_sid=provider_sid,
                message_id=message_id,
                tenant_id=tenant_id,
                provider_status=provider_status,
                error_code=error_code,
                error_message=error_message,
            )
        )
        # Without a receipt a report is never `SEEN`.
        return outcome if isinstance(outcome, ReportOutcome) else None

    async def apply(self, report: StatusReport) -> Applied:
        """Record `report` with whatever others are waiting: its outcome, `SEEN` if its receipt
        was recorded before, or None if its message is not found."""
        if in_write_transaction():
            return await self._apply_one(report)  # the caller's transaction holds the lock
        return await self._batches.submit(report)

    async def _apply_one(self, report: StatusReport) -> Applied:
        [outcome] = await self._apply_many([report])
        return outcome

    async def _apply_many(self, reports: Sequence[StatusReport]) -> list[Applied]:
        async with write_transaction(self._engine) as connection:
            return await apply_reports(connection, reports)


@dataclasses.dataclass(frozen=True, slots=True)
class _Step:
    """A report applied in memory: where its outcome goes, and the message around it."""

    index: int
    report: StatusReport
    before: MessageRecord
    after: MessageRecord
    transition: Transition


async def apply_reports(
    connection: AsyncConnection, reports: Sequence[StatusReport]
) -> list[Applied]:
    """Apply `reports` in order in the caller's transaction; one outcome each."""
    fresh = await _record_receipts(connection, reports)
    found = await _lock_messages(
        connection, [report for report, new in zip(reports, fresh, strict=True) if new]
    )
    results: list[Applied] = [None if new else SEEN for new in fresh]
    latest: dict[str, MessageRecord] = {}
    steps: list[_Step] = []
    unknown: list[str] = []
    for index, (report, new) in enumerate(zip(reports, fresh, strict=True)):
        if not new:
            continue
        target = _newest(found, report)
        if target is None:
            if report.receipt is not None:
                unknown.append(report.receipt)
            continue
        before = latest.get(target.id, target)
        step = _step(index, report, before)
        latest[before.id] = step.after
        steps.append(step)
    if unknown:
        await connection.execute(
            delete(webhook_receipts).where(webhook_receipts.c.key.in_(unknown))
        )
    moved = {step.after.id for step in steps if step.transition.changed}
    await _update_messages(connection, [latest[message_id] for message_id in sorted(moved)])
    changes = await _append_history(connection, steps)
    events = []
    for step, change in zip(steps, changes, strict=True):
        results[step.index] = ReportOutcome(
            message=step.after, transition=step.transition, change=change
        )
        if step.transition.changed:
            payload = status_changed_payload(
                step.after, step.before.status, step.report.occurred_at
            )
            events.append(
                NewEvent(step.after.tenant_id, MESSAGE_STATUS_CHANGED, payload, step.report.now)
            )
    if events:
        await append_events(connection, events)
    return results


def _step(index: int, report: StatusReport, before: MessageRecord) -> _Step:
    """`report` applied to `before`: moved forwards, with the report's error, or unchanged."""
    transition = apply_status(before.status, report.reported)
    after = before
    if transition.changed:
        changes: dict[str, Any] = {"status": transition.current, "updated_at": report.now}
        if report.error_code is not None or report.error_message is not None:
            changes |= {"error_code": report.error_code, "error_message": report.error_message}
        after = dataclasses.replace(before, **changes)
    return _Step(index, report, before, after, transition)


async def _record_receipts(
    connection: AsyncConnection, reports: Sequence[StatusReport]
) -> list[bool]:
    """Record the reports' receipt keys; per report, whether it is to be applied (its key is
    new, the first of the batch to carry it, or it has none)."""
    keys = list(dict.fromkeys(r.receipt for r in reports if r.receipt is not None))
    recorded: set[str] = set()
    if keys and is_postgresql(connection):
        received = [_received(reports, key) for key in keys]
        result = await connection.execute(_RECORD_RECEIPTS, {"keys": keys, "received": received})
        recorded = set(result.scalars())
    elif keys:
        statement = (
            sqlite.insert(webhook_receipts)
            .values([{"key": key, "received_at": _received(reports, key)} for key in keys])
            .on_conflict_do_nothing()
            .returning(webhook_receipts.c.key)
        )
        recorded = set((await connection.execute(statement)).scalars())
    fresh = []
    for report in reports:
        if report.receipt is None:
            fresh.append(True)
        else:
            fresh.append(report.receipt in recorded)
            recorded.discard(report.receipt)  # a second copy in the batch is a duplicate
    return fresh


def _received(reports: Sequence[StatusReport], key: str) -> datetime:
    return next(report.now for report in reports if report.receipt == key)


# PostgreSQL: the keys as one array, so that the statement's text (and its prepared form) is
# the same for any number of keys.
_RECORD_RECEIPTS: Final = text(
    "INSERT INTO webhook_receipts (key, received_at) "
    "SELECT * FROM unnest(CAST(:keys AS varchar[]), CAST(:received AS timestamptz[])) "
    "ON CONFLICT DO NOTHING RETURNING key"
)


async def _lock_messages(
    connection: AsyncConnection, reports: Sequence[StatusReport]
) -> list[MessageRecord]:
    """The messages the reports may be about, locked in the order of their ids."""
    sids = {r.provider_sid for r in reports if r.provider_sid is not None}
    ids = {r.message_id for r in reports if r.message_id is not None}
    if not (sids or ids):
        return []
    if is_postgresql(connection):
        rows = await connection.execute(_LOCK_NAMED, {"sids": list(sids), "ids": list(ids)})
        return [message_from_row(row) for row in rows]
    m = messages.c
    named = []
    if sids:
        named.append(m.provider_sid.in_(sids))
    if ids:
        named.append(m.id.in_(ids))
    query = select(messages).where(or_(*named)).order_by(m.id).with_for_update()
    return [message_from_row(row) for row in await connection.execute(query)]


# PostgreSQL: the SIDs and ids as arrays, one statement text for any batch.
_LOCK_NAMED: Final = (
    select(messages)
    .where(
        or_(
            messages.c.provider_sid == any_(bindparam("sids", type_=ARRAY(String))),
            messages.c.id == any_(bindparam("ids", type_=ARRAY(String))),
        )
    )
    .order_by(messages.c.id)
    .with_for_update()
)


def _newest(found: Sequence[MessageRecord], report: StatusReport) -> MessageRecord | None:
    """The most recently created message that `report` names (a SID adopted twice names two)."""
    named = [message for message in found if report.names(message)]
    return max(named, key=lambda message: message.created_at, default=None)


_UPDATE_STATUS: Final = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        status=bindparam("status"),
        updated_at=bindparam("updated_at"),
        error_code=bindparam("error_code"),
        error_message=bindparam("error_message"),
    )
)


async def _update_messages(connection: AsyncConnection, moved: Sequence[MessageRecord]) -> None:
    """Write the messages' new status (and error): one statement for all."""
    if not moved:
        return
    await connection.execute(
        _UPDATE_STATUS,
        [
            {
                "message_id": message.id,
                "status": message.status.value,
                "updated_at": message.updated_at,
                "error_code": message.error_code,
                "error_message": message.error_message,
            }
            for message in moved
        ],
    )


async def _append_history(
    connection: AsyncConnection, steps: Sequence[_Step]
) -> list[StatusChange]:
    """Append every step's report to its message's history: one statement, ids in order."""
    if not steps:
        return []
    changes = [
        StatusChange(
            id=0,
            message_id=step.before.id,
            status=step.report.reported,
            provider_status=step.report.provider_status,
            error_code=step.report.error_code,
            error_message=step.report.error_message,
            source=step.report.source,
            occurred_at=step.report.occurred_at,
            recorded_at=step.report.now,
            applied=step.transition.changed,
        )
        for step in steps
    ]
    result = await connection.execute(
        insert(history).returning(history.c.id, sort_by_parameter_order=True),
        [
            {
                "message_id": change.message_id,
                "status": change.status.value,
                "provider_status": change.provider_status,
                "error_code": change.error_code,
                "error_message": change.error_message,
                "source": change.source.value,
                "occurred_at": change.occurred_at,
                "recorded_at": change.recorded_at,
                "applied": change.applied,
            }
            for change in changes
        ],
    )
    return [
        dataclasses.replace(change, id=history_id)
        for change, history_id in zip(changes, result.scalars(), strict=True)
    ]
