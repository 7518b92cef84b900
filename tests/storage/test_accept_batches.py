"""Concurrent accepts committed together: the same rows, events and answers as one by one."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.phone import Channel
from herald.domain.records import OptOutSource, Tenant
from herald.errors import IdempotencyConflict, RecipientOptedOut
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.deliveries import EventDeliveries
from herald.storage.endpoints import WebhookEndpointRepository
from herald.storage.engine import create_engine
from herald.storage.events import MESSAGE_STATUS_CHANGED, EventRepository
from herald.storage.messages import MessageRepository
from herald.storage.migrate import upgrade
from herald.storage.optouts import OptOutRepository
from herald.storage.schema import message_status_history, messages
from herald.storage.tenants import TenantRepository
from tests.storage.storage_helpers import NOW, sms

FINGERPRINT = "a" * 64


async def test_concurrent_accepts_each_get_their_rows_history_and_event(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Forty accepts at once, for two tenants: every message, history entry, event and
    delivery is there once, and each tenant's events are in the order of their ids."""
    other = await TenantRepository(engine, box).create("other", now=NOW)
    endpoint = await WebhookEndpointRepository(engine, box).create(
        tenant.id, "https://example.com/hook", now=NOW
    )
    repository = MessageRepository(engine)
    owners = [tenant if n % 2 else other for n in range(40)]
    accepted = await asyncio.gather(
        *(
            repository.accept(owner.id, sms(to=f"+316123456{n:02d}"), now=NOW)
            for n, owner in enumerate(owners)
        )
    )
    assert all(each.created for each in accepted)
    assert len({each.message.id for each in accepted}) == 40
    for each, owner, n in zip(accepted, owners, range(40), strict=True):
        assert each.message.tenant_id == owner.id
        assert each.message.to == f"+316123456{n:02d}"
        assert await repository.get(owner.id, each.message.id) == each.message
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(messages)) == 40
        history = select(func.count()).select_from(message_status_history)
        assert await connection.scalar(history) == 40
    for owner in (tenant, other):
        events = await EventRepository(engine).list_after(owner.id, limit=100)
        assert [event.type for event in events] == [MESSAGE_STATUS_CHANGED] * 20
        assert [event.id for event in events] == sorted(event.id for event in events)
        mine = {each.message.id for each in accepted if each.message.tenant_id == owner.id}
        assert {event.payload["message_id"] for event in events} == mine
        assert all(event.payload["previous_status"] is None for event in events)
    deliveries = EventDeliveries(engine, box)
    for event in await EventRepository(engine).list_after(tenant.id, limit=100):
        [delivery] = await deliveries.for_event(event.id)
        assert delivery.endpoint_id == endpoint.endpoint.id
    for event in await EventRepository(engine).list_after(other.id, limit=100):
        assert await deliveries.for_event(event.id) == []


async def test_one_key_twice_in_a_batch_creates_one_message(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same key submitted with others at once: one message, the twin is its replay, and
    the other messages of the batch are accepted as usual."""
    repository = MessageRepository(engine)
    keyed = [
        repository.accept(tenant.id, sms(), now=NOW, idempotency_key="k", fingerprint=FINGERPRINT)
        for _ in range(2)
    ]
    plain = [repository.accept(tenant.id, sms(to=f"+3161234560{n}"), now=NOW) for n in range(5)]
    results = await asyncio.gather(*keyed, *plain)
    twins = results[:2]
    assert sorted(each.created for each in twins) == [False, True]
    assert twins[0].message.id == twins[1].message.id
    assert all(each.created for each in results[2:])
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(messages)) == 6


async def test_a_conflicting_key_fails_only_its_own_request(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """A key reused with another request is refused to that caller alone."""
    repository = MessageRepository(engine)
    await repository.accept(
        tenant.id, sms(), now=NOW, idempotency_key="used", fingerprint=FINGERPRINT
    )
    results = await asyncio.gather(
        repository.accept(
            tenant.id, sms(body="other"), now=NOW, idempotency_key="used", fingerprint="b" * 64
        ),
        *(repository.accept(tenant.id, sms(to=f"+3161234560{n}"), now=NOW) for n in range(4)),
        return_exceptions=True,
    )
    assert isinstance(results[0], IdempotencyConflict)
    assert all(not isinstance(each, BaseException) and each.created for each in results[1:])


@pytest.mark.parametrize("size", [1, 3])
async def test_accepts_fail_cleanly_when_the_database_is_gone(
    engine: AsyncEngine, tenant: Tenant, size: int
) -> None:
    """With the tables gone, every caller gets the storage error, and none waits for ever."""
    repository = MessageRepository(engine)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE message_status_history")
    results = await asyncio.gather(
        *(repository.accept(tenant.id, sms(to=f"+3161234560{n}"), now=NOW) for n in range(size)),
        return_exceptions=True,
    )
    assert len(results) == size
    assert all(isinstance(each, Exception) for each in results)


async def test_opted_out_recipients_are_refused_in_the_committing_transaction(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Accepts asking for the opt-out check, at once: the opted-out ones raise and store
    nothing, the others are stored; another tenant's or channel's opt-out does not count."""
    other = await TenantRepository(engine, box).create("other", now=NOW)
    opt_outs = OptOutRepository(engine)
    for owner, channel, number in [
        (tenant, Channel.SMS, "+31612345601"),
        (other, Channel.SMS, "+31612345602"),
        (tenant, Channel.WHATSAPP, "+31612345603"),
    ]:
        await opt_outs.set(
            owner.id, channel, number, opted_out=True, source=OptOutSource.API, now=NOW
        )
    repository = MessageRepository(engine)
    numbers = [f"+316123456{n:02d}" for n in range(1, 7)]
    answers = await asyncio.gather(
        *(
            repository.accept(tenant.id, sms(to=number), now=NOW, opt_out_address=number)
            for number in numbers
        ),
        return_exceptions=True,
    )
    refused = [
        n for n, answer in zip(numbers, answers, strict=True) if isinstance(answer, Exception)
    ]
    assert refused == ["+31612345601"]
    assert all(
        isinstance(answer, RecipientOptedOut) for answer in answers if isinstance(answer, Exception)
    )
    async with engine.connect() as connection:
        stored = set((await connection.execute(select(messages.c.to_address))).scalars())
    assert stored == set(numbers) - {"+31612345601"}
    # Without the check (the caller read the opt-out itself), the message is stored.
    alone = await repository.accept(tenant.id, sms(to="+31612345601"), now=NOW)
    assert alone.created


async def test_an_accepted_message_is_what_reading_it_back_gives(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Accepts committed together answer with the message exactly as it reads back (times in
    UTC, JSON columns, idempotency key), and each event goes to the endpoints that want it:
    every type or its type, not another type's nor a disabled one."""
    endpoints = WebhookEndpointRepository(engine, box)
    wanted = [
        await endpoints.create(tenant.id, "https://example.com/all", now=NOW),
        await endpoints.create(
            tenant.id, "https://example.com/status", now=NOW, event_types=[MESSAGE_STATUS_CHANGED]
        ),
    ]
    await endpoints.create(
        tenant.id, "https://example.com/other", now=NOW, event_types=["verification.approved"]
    )
    disabled = await endpoints.create(tenant.id, "https://example.com/off", now=NOW)
    await endpoints.disable(tenant.id, disabled.endpoint.id, now=NOW)
    later = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    repository = MessageRepository(engine)
    accepted = await asyncio.gather(
        repository.accept(tenant.id, sms(to="+31612345601"), now=NOW),
        repository.accept(
            tenant.id,
            sms(
                to="+31612345602",
                body=None,
                template="appointment",
                template_variables={"name": "Ana", "time": "09:30"},
                metadata={"order": "4471", "nested": {"a": [1, 2]}},
                media_urls=("https://example.com/a.png",),
                send_at=later,
            ),
            now=NOW,
            idempotency_key="key-2",
            fingerprint=FINGERPRINT,
        ),
        repository.accept(
            tenant.id, sms(to="+31612345603"), now=NOW.astimezone(timezone(-timedelta(hours=5)))
        ),
    )
    for each in accepted:
        assert await repository.get(tenant.id, each.message.id) == each.message
        assert each.message.created_at.utcoffset() == timedelta(0)
    scheduled = accepted[1].message
    assert scheduled.send_at == later
    assert scheduled.send_at is not None
    assert scheduled.send_at.utcoffset() == timedelta(0)
    assert scheduled.status.value == "scheduled"
    assert scheduled.next_attempt_at == later
    replay = await repository.replay(tenant.id, "key-2", FINGERPRINT)
    assert replay is not None
    assert replay.message == scheduled
    deliveries = EventDeliveries(engine, box)
    events = await EventRepository(engine).list_after(tenant.id, limit=100)
    assert len(events) == 3
    for event in events:
        got = {delivery.endpoint_id for delivery in await deliveries.for_event(event.id)}
        assert got == {endpoint.endpoint.id for endpoint in wanted}


@pytest.mark.postgres
async def test_a_batch_on_a_dropped_connection_does_not_pool_it_again(postgres_url: str) -> None:
    """A batch runs beside SQLAlchemy, on the driver's connection; when the server has dropped
    that connection, it is discarded, so the batch's messages, written again each alone,
    are all accepted on a fresh one."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    try:
        tenant = await TenantRepository(engine, SecretBox(generate_secret_key())).create(
            "acme", now=NOW
        )
        repository = MessageRepository(engine)
        await repository.accept(tenant.id, sms(), now=NOW)  # the pool holds one connection
        server = await asyncpg.connect(postgres_url)
        try:
            dropped = await server.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await server.close()
        assert dropped == 1
        accepted = await asyncio.gather(
            *(repository.accept(tenant.id, sms(to=f"+3161234567{n}"), now=NOW) for n in range(4))
        )
        assert all(each.created for each in accepted)
    finally:
        await engine.dispose()
