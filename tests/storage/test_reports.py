"""Status reports are all kept in the history, and the status only ever moves forwards."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.records import HistorySource, MessageRecord, ReportOutcome, Tenant
from herald.errors import InvalidInput
from herald.storage.events import MESSAGE_STATUS_CHANGED, EventRepository
from herald.storage.messages import MessageRepository
from herald.storage.outbox import Outbox
from herald.storage.receipts import WebhookReceipts
from herald.storage.reports import SEEN, StatusReport, StatusReports
from tests.storage.storage_helpers import NOW, later, sms


async def _sent(engine: AsyncEngine, tenant: Tenant, sid: str = "SM1") -> MessageRecord:
    message = (await MessageRepository(engine).accept(tenant.id, sms(), now=NOW)).message
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=30, limit=1)
    assert await outbox.mark_sent(message.id, "w1", now=later(1), provider_sid=sid)
    return message


async def _report(engine: AsyncEngine, status: Status, at: float, sid: str = "SM1") -> object:
    return await StatusReports(engine).apply_report(
        provider_sid=sid,
        reported=status,
        provider_status=status.value,
        occurred_at=later(at),
        now=later(at),
        source=HistorySource.CALLBACK,
    )


async def test_report_moves_the_status_forwards(engine: AsyncEngine, tenant: Tenant) -> None:
    """A delivered report on a queued message makes it delivered and emits an event."""
    message = await _sent(engine, tenant)
    outcome = await StatusReports(engine).apply_report(
        provider_sid="SM1",
        reported=Status.DELIVERED,
        occurred_at=later(5),
        now=later(6),
        source=HistorySource.CALLBACK,
        provider_status="delivered",
    )
    assert outcome is not None
    assert outcome.transition.changed
    assert outcome.message.status is Status.DELIVERED
    events = await EventRepository(engine).list_after(tenant.id)
    assert events[-1].type == MESSAGE_STATUS_CHANGED
    assert (events[-1].payload["message_id"], events[-1].payload["status"]) == (
        message.id,
        "delivered",
    )


async def test_late_report_is_kept_but_not_applied(engine: AsyncEngine, tenant: Tenant) -> None:
    """A `sent` arriving after `delivered` is in the history, unapplied, and changes nothing."""
    message = await _sent(engine, tenant)
    await _report(engine, Status.DELIVERED, 5)
    events_before = await EventRepository(engine).list_after(tenant.id)
    await _report(engine, Status.SENT, 6)
    current = await MessageRepository(engine).get(tenant.id, message.id)
    assert current is not None
    assert current.status is Status.DELIVERED
    history = await MessageRepository(engine).history(tenant.id, message.id)
    assert history is not None
    assert [(each.status, each.applied) for each in history][-2:] == [
        (Status.DELIVERED, True),
        (Status.SENT, False),
    ]
    assert await EventRepository(engine).list_after(tenant.id) == events_before


@pytest.mark.parametrize(
    "order",
    [
        (Status.SENT, Status.DELIVERED, Status.SENDING),
        (Status.DELIVERED, Status.SENT, Status.SENDING),
        (Status.SENDING, Status.UNDELIVERED, Status.DELIVERED),
    ],
)
async def test_status_never_moves_backwards(
    engine: AsyncEngine, tenant: Tenant, order: tuple[Status, ...]
) -> None:
    """Whatever the order reports arrive in, the status only advances to the first final one."""
    message = await _sent(engine, tenant)
    seen = []
    for offset, status in enumerate(order):
        await _report(engine, status, 10 + offset)
        current = await MessageRepository(engine).get(tenant.id, message.id)
        assert current is not None
        seen.append(current.status)
    ranks = [list(Status).index(each) for each in seen]
    assert ranks == sorted(ranks)


async def test_concurrent_reports_apply_one_after_the_other(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Reports racing on separate connections each land in the history, and one status wins."""
    message = await _sent(engine, tenant)
    await asyncio.gather(
        *(_report(engine, status, 5) for status in (Status.SENT, Status.DELIVERED, Status.SENDING))
    )
    current = await MessageRepository(engine).get(tenant.id, message.id)
    assert current is not None
    assert current.status is Status.DELIVERED
    history = await MessageRepository(engine).history(tenant.id, message.id)
    assert history is not None
    assert len(history) == 5


async def test_error_of_a_final_report_is_recorded(engine: AsyncEngine, tenant: Tenant) -> None:
    """An undelivered report stores Twilio's error code on the message."""
    message = await _sent(engine, tenant)
    await StatusReports(engine).apply_report(
        provider_sid="SM1",
        reported=Status.UNDELIVERED,
        occurred_at=later(5),
        now=later(5),
        source=HistorySource.CALLBACK,
        error_code=30003,
        error_message="Unreachable handset",
    )
    current = await MessageRepository(engine).get(tenant.id, message.id)
    assert current is not None
    assert (current.status, current.error_code) == (Status.UNDELIVERED, 30003)


async def test_report_by_message_id(engine: AsyncEngine, tenant: Tenant) -> None:
    """A reconciliation may name the message by Herald's id instead of the SID."""
    message = await _sent(engine, tenant)
    outcome = await StatusReports(engine).apply_report(
        message_id=message.id,
        reported=Status.SENT,
        occurred_at=later(3),
        now=later(3),
        source=HistorySource.RECONCILE,
    )
    assert outcome is not None
    assert outcome.change.source is HistorySource.RECONCILE


async def test_unknown_sid_is_none(engine: AsyncEngine, tenant: Tenant) -> None:
    """A report about a SID Herald does not know changes nothing and answers None."""
    assert await _report(engine, Status.DELIVERED, 1, sid="SMunknown") is None


async def test_report_scoped_to_another_tenant_is_none(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """With a tenant given, another tenant's message is not found."""
    await _sent(engine, tenant)
    outcome = await StatusReports(engine).apply_report(
        provider_sid="SM1",
        tenant_id=other_tenant.id,
        reported=Status.DELIVERED,
        occurred_at=NOW,
        now=NOW,
        source=HistorySource.CALLBACK,
    )
    assert outcome is None


async def test_report_names_exactly_one_message(engine: AsyncEngine) -> None:
    """A report with neither a SID nor an id is refused."""
    with pytest.raises(InvalidInput, match="provider_sid or message_id"):
        await StatusReports(engine).apply_report(
            reported=Status.SENT, occurred_at=NOW, now=NOW, source=HistorySource.CALLBACK
        )


def _callback(status: Status, sid: str, receipt: str, **fields: object) -> StatusReport:
    return StatusReport(
        reported=status,
        occurred_at=later(5),
        now=later(5),
        source=HistorySource.CALLBACK,
        provider_sid=sid,
        provider_status=status.value,
        receipt=receipt,
        **fields,  # type: ignore[arg-type]
    )


async def test_reports_arriving_together_are_applied_in_order_once_each(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Callbacks submitted at once share a transaction and answer as one by one would: two
    about one message in order, a repeated receipt seen, an unknown SID's receipt left free."""
    first = await _sent(engine, tenant, sid="SM1")
    second = await _sent(engine, tenant, sid="SM2")
    reports = StatusReports(engine)
    outcomes = await asyncio.gather(
        *(
            reports.apply(report)
            for report in [
                _callback(Status.SENT, "SM1", "k1"),
                _callback(Status.DELIVERED, "SM1", "k2"),
                _callback(Status.DELIVERED, "SM1", "k2"),
                _callback(Status.UNDELIVERED, "SM2", "k3", error_code=30003),
                _callback(Status.DELIVERED, "SM9", "k4"),
            ]
        )
    )
    sent, delivered, again, undelivered, unknown = outcomes
    assert isinstance(sent, ReportOutcome)
    assert isinstance(delivered, ReportOutcome)
    assert isinstance(undelivered, ReportOutcome)
    assert (sent.transition.previous, sent.message.status) == (Status.QUEUED, Status.SENT)
    assert (delivered.transition.previous, delivered.message.status) == (
        Status.SENT,
        Status.DELIVERED,
    )
    assert again is SEEN
    assert unknown is None
    assert (undelivered.message.status, undelivered.message.error_code) == (
        Status.UNDELIVERED,
        30003,
    )
    assert sent.change.id < delivered.change.id
    messages = MessageRepository(engine)
    stored = [await messages.get(tenant.id, each.id) for each in (first, second)]
    assert [m.status if m else None for m in stored] == [Status.DELIVERED, Status.UNDELIVERED]
    events = await EventRepository(engine).list_after(tenant.id)
    changes = [
        (e.payload["message_id"], e.payload["previous_status"], e.payload["status"])
        for e in events
        if e.type == MESSAGE_STATUS_CHANGED and e.payload["previous_status"] is not None
    ]
    assert changes[-3:] == [
        (first.id, "queued", "sent"),
        (first.id, "sent", "delivered"),
        (second.id, "queued", "undelivered"),
    ]
    receipts = WebhookReceipts(engine)
    assert not await receipts.first_time("k2", received_at=later(6))
    assert await receipts.first_time("k4", received_at=later(6))  # a retry would be applied
