"""Accepting messages into the outbox, idempotently, and reading them back per tenant."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import HistorySource, MessageFilter, MessageRecord, Tenant
from herald.errors import Conflict, IdempotencyConflict, InvalidInput
from herald.storage.events import MESSAGE_STATUS_CHANGED, EventRepository
from herald.storage.messages import MessageRepository
from herald.storage.outbox import Outbox
from herald.storage.schema import messages
from tests.storage.storage_helpers import NOW, later, sms

FINGERPRINT = "a" * 64


async def test_accept_commits_an_accepted_message(engine: AsyncEngine, tenant: Tenant) -> None:
    """A message without send_at is accepted, due now, with no attempts yet."""
    accepted = await MessageRepository(engine).accept(tenant.id, sms(), now=NOW)
    message = accepted.message
    assert accepted.created
    assert message.id.startswith("msg_")
    assert message.status is Status.ACCEPTED
    assert message.next_attempt_at == NOW
    assert message.attempts == 0
    assert message.to == "+31612345678"
    assert await MessageRepository(engine).get(tenant.id, message.id) == message


async def test_accept_with_send_at_schedules(engine: AsyncEngine, tenant: Tenant) -> None:
    """A message for later is scheduled, due at its send_at."""
    accepted = await MessageRepository(engine).accept(tenant.id, sms(send_at=later(3600)), now=NOW)
    assert accepted.message.status is Status.SCHEDULED
    assert accepted.message.next_attempt_at == later(3600)


async def test_accept_records_history_and_event(engine: AsyncEngine, tenant: Tenant) -> None:
    """The first history entry and a status_changed event are committed with the message."""
    repository = MessageRepository(engine)
    message = (await repository.accept(tenant.id, sms(metadata={"order": 7}), now=NOW)).message
    history = await repository.history(tenant.id, message.id)
    assert history is not None
    assert [(each.status, each.source, each.applied) for each in history] == [
        (Status.ACCEPTED, HistorySource.API, True)
    ]
    events = await EventRepository(engine).list_after(tenant.id)
    assert [each.type for each in events] == [MESSAGE_STATUS_CHANGED]
    assert events[0].payload["message_id"] == message.id
    assert events[0].payload["status"] == "accepted"
    assert events[0].payload["metadata"] == {"order": 7}


async def test_same_key_same_request_returns_the_original(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """A retried request with its key gets the first message back and creates nothing."""
    repository = MessageRepository(engine)
    first = await repository.accept(
        tenant.id, sms(), now=NOW, idempotency_key="k1", fingerprint=FINGERPRINT
    )
    again = await repository.accept(
        tenant.id, sms(), now=later(5), idempotency_key="k1", fingerprint=FINGERPRINT
    )
    assert not again.created
    assert again.message == first.message


async def test_same_key_other_request_is_a_conflict(engine: AsyncEngine, tenant: Tenant) -> None:
    """Reusing a key for a different request raises IdempotencyConflict naming the message."""
    repository = MessageRepository(engine)
    first = await repository.accept(
        tenant.id, sms(), now=NOW, idempotency_key="k1", fingerprint=FINGERPRINT
    )
    with pytest.raises(IdempotencyConflict) as raised:
        await repository.accept(
            tenant.id, sms(body="other"), now=NOW, idempotency_key="k1", fingerprint="b" * 64
        )
    assert raised.value.message_id == first.message.id


async def test_keys_are_per_tenant(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Two tenants using the same key get two messages."""
    repository = MessageRepository(engine)
    mine = await repository.accept(
        tenant.id, sms(), now=NOW, idempotency_key="k", fingerprint=FINGERPRINT
    )
    theirs = await repository.accept(
        other_tenant.id, sms(), now=NOW, idempotency_key="k", fingerprint=FINGERPRINT
    )
    assert theirs.created
    assert theirs.message.id != mine.message.id


async def test_concurrent_accepts_with_one_key_create_one_message(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Racing requests with the same key, on separate connections, store a single message."""
    repository = MessageRepository(engine)
    results = await asyncio.gather(
        *(
            repository.accept(
                tenant.id, sms(), now=NOW, idempotency_key="race", fingerprint=FINGERPRINT
            )
            for _ in range(4)
        )
    )
    assert len({each.message.id for each in results}) == 1
    assert sum(each.created for each in results) == 1
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(messages)) == 1


async def test_key_without_fingerprint_is_refused(engine: AsyncEngine, tenant: Tenant) -> None:
    """An idempotency key must come with the request's fingerprint."""
    with pytest.raises(InvalidInput, match="fingerprint"):
        await MessageRepository(engine).accept(tenant.id, sms(), now=NOW, idempotency_key="k")


async def test_other_tenants_message_is_not_found(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A tenant cannot read, list or see the history of another tenant's message."""
    repository = MessageRepository(engine)
    theirs = (await repository.accept(other_tenant.id, sms(), now=NOW)).message
    assert await repository.get(tenant.id, theirs.id) is None
    assert await repository.history(tenant.id, theirs.id) is None
    assert (await repository.list(tenant.id)).items == ()


async def test_list_is_newest_first_and_pages_with_a_cursor(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Pages follow one another without gaps or repeats, even with equal creation times."""
    repository = MessageRepository(engine)
    made = [
        (await repository.accept(tenant.id, sms(), now=later(i // 2))).message for i in range(7)
    ]
    expected = sorted(made, key=lambda each: (each.created_at, each.id), reverse=True)
    seen: list[MessageRecord] = []
    cursor = None
    while True:
        page = await repository.list(tenant.id, limit=3, cursor=cursor)
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [each.id for each in seen] == [each.id for each in expected]


async def test_list_filters(engine: AsyncEngine, tenant: Tenant) -> None:
    """Status, channel, recipient and creation range each narrow the listing."""
    repository = MessageRepository(engine)
    early = (await repository.accept(tenant.id, sms(to="+31611111111"), now=NOW)).message
    scheduled = (await repository.accept(tenant.id, sms(send_at=later(999)), now=later(10))).message
    whatsapp = (
        await repository.accept(
            tenant.id, sms(channel=Channel.WHATSAPP, to="whatsapp:+31622222222"), now=later(20)
        )
    ).message

    async def ids(filters: MessageFilter) -> list[str]:
        return [each.id for each in (await repository.list(tenant.id, filters)).items]

    assert await ids(MessageFilter(status=Status.SCHEDULED)) == [scheduled.id]
    assert await ids(MessageFilter(channel=Channel.WHATSAPP)) == [whatsapp.id]
    assert await ids(MessageFilter(to="+31611111111")) == [early.id]
    assert await ids(MessageFilter(created_from=later(10), created_to=later(10))) == [scheduled.id]


async def test_forged_cursor_is_invalid_input(engine: AsyncEngine, tenant: Tenant) -> None:
    """A cursor Herald did not issue is refused with advice."""
    with pytest.raises(InvalidInput, match="not one Herald issued"):
        await MessageRepository(engine).list(tenant.id, cursor="bm90IGEgY3Vyc29y")


async def test_cancel_a_scheduled_message(engine: AsyncEngine, tenant: Tenant) -> None:
    """A scheduled message can be canceled; it is then never claimed."""
    repository = MessageRepository(engine)
    message = (await repository.accept(tenant.id, sms(send_at=later(60)), now=NOW)).message
    canceled = await repository.cancel(tenant.id, message.id, now=later(1))
    assert canceled is not None
    assert canceled.status is Status.CANCELED
    claimed = await Outbox(engine).claim("w1", now=later(120), lease_seconds=30, limit=10)
    assert claimed == []


async def test_cancel_of_a_message_being_sent_is_a_conflict(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """A message a worker holds cannot be canceled under it."""
    repository = MessageRepository(engine)
    message = (await repository.accept(tenant.id, sms(), now=NOW)).message
    await Outbox(engine).claim("w1", now=NOW, lease_seconds=30, limit=10)
    with pytest.raises(Conflict, match="being sent"):
        await repository.cancel(tenant.id, message.id, now=later(1))


async def test_cancel_of_another_tenants_message_is_none(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Canceling through the wrong tenant finds nothing and changes nothing."""
    repository = MessageRepository(engine)
    theirs = (await repository.accept(other_tenant.id, sms(send_at=later(60)), now=NOW)).message
    assert await repository.cancel(tenant.id, theirs.id, now=NOW) is None
    still = await repository.get(other_tenant.id, theirs.id)
    assert still is not None
    assert still.status is Status.SCHEDULED


async def test_count_by_status(engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant) -> None:
    """Counts are per status, for one tenant or for all."""
    repository = MessageRepository(engine)
    await repository.accept(tenant.id, sms(), now=NOW)
    await repository.accept(tenant.id, sms(send_at=later(60)), now=NOW)
    await repository.accept(other_tenant.id, sms(), now=NOW)
    assert await repository.count_by_status(tenant.id) == {Status.ACCEPTED: 1, Status.SCHEDULED: 1}
    assert await repository.count_by_status() == {Status.ACCEPTED: 2, Status.SCHEDULED: 1}
