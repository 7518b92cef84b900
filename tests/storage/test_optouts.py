"""Opt-outs per tenant and channel, with an append-only history and events on change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.phone import Channel
from herald.domain.records import OptOutSource, Tenant
from herald.storage.events import OPT_OUT_CHANGED, EventRepository
from herald.storage.optouts import OptOutRepository
from tests.storage.storage_helpers import NOW, later

NUMBER = "+31612345678"


async def test_opt_out_is_recorded(engine: AsyncEngine, tenant: Tenant) -> None:
    """A STOP keyword makes the address opted out on that channel, with its keyword."""
    repository = OptOutRepository(engine)
    await repository.set(
        tenant.id,
        Channel.SMS,
        NUMBER,
        opted_out=True,
        source=OptOutSource.KEYWORD,
        keyword="STOP",
        now=NOW,
    )
    found = await repository.get(tenant.id, Channel.SMS, NUMBER)
    assert found is not None
    assert (found.opted_out, found.source, found.keyword, found.updated_at) == (
        True,
        OptOutSource.KEYWORD,
        "STOP",
        NOW,
    )
    assert await repository.is_opted_out(tenant.id, Channel.SMS, NUMBER)


async def test_opt_out_is_per_channel_and_tenant(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """An SMS opt-out does not block WhatsApp, nor another tenant."""
    repository = OptOutRepository(engine)
    await repository.set(
        tenant.id, Channel.SMS, NUMBER, opted_out=True, source=OptOutSource.API, now=NOW
    )
    assert not await repository.is_opted_out(tenant.id, Channel.WHATSAPP, NUMBER)
    assert not await repository.is_opted_out(other_tenant.id, Channel.SMS, NUMBER)
    assert await repository.list(other_tenant.id) == []


async def test_opt_in_lifts_it_and_history_keeps_both(engine: AsyncEngine, tenant: Tenant) -> None:
    """START after STOP re-allows sending; the history holds both changes in order."""
    repository = OptOutRepository(engine)
    await repository.set(
        tenant.id,
        Channel.SMS,
        NUMBER,
        opted_out=True,
        source=OptOutSource.KEYWORD,
        keyword="STOP",
        now=NOW,
    )
    await repository.set(
        tenant.id,
        Channel.SMS,
        NUMBER,
        opted_out=False,
        source=OptOutSource.KEYWORD,
        keyword="START",
        now=later(60),
    )
    assert not await repository.is_opted_out(tenant.id, Channel.SMS, NUMBER)
    history = await repository.history(tenant.id, Channel.SMS, NUMBER)
    assert [(each.opted_out, each.keyword) for each in history] == [
        (True, "STOP"),
        (False, "START"),
    ]


async def test_events_only_when_the_state_changes(engine: AsyncEngine, tenant: Tenant) -> None:
    """A repeated STOP is in the history but emits no second opt_out.changed event."""
    repository = OptOutRepository(engine)
    for at in (0, 10):
        await repository.set(
            tenant.id,
            Channel.SMS,
            NUMBER,
            opted_out=True,
            source=OptOutSource.KEYWORD,
            keyword="STOP",
            now=later(at),
        )
    events = await EventRepository(engine).list_after(tenant.id)
    assert [each.type for each in events] == [OPT_OUT_CHANGED]
    assert events[0].payload["address"] == NUMBER
    assert events[0].payload["opted_out"] is True
    assert len(await repository.history(tenant.id, Channel.SMS, NUMBER)) == 2


async def test_delete_lifts_and_forgets(engine: AsyncEngine, tenant: Tenant) -> None:
    """Deleting an opt-out removes the state, keeps a history entry and announces it."""
    repository = OptOutRepository(engine)
    await repository.set(
        tenant.id, Channel.SMS, NUMBER, opted_out=True, source=OptOutSource.API, now=NOW
    )
    assert await repository.delete(
        tenant.id, Channel.SMS, NUMBER, source=OptOutSource.ADMIN, now=later(1)
    )
    assert await repository.get(tenant.id, Channel.SMS, NUMBER) is None
    assert [
        each.opted_out for each in await repository.history(tenant.id, Channel.SMS, NUMBER)
    ] == [True, False]
    events = await EventRepository(engine).list_after(tenant.id)
    assert [each.payload["opted_out"] for each in events] == [True, False]


async def test_delete_of_nothing_is_false(engine: AsyncEngine, tenant: Tenant) -> None:
    """Deleting an opt-out that was never recorded says so."""
    assert not await OptOutRepository(engine).delete(
        tenant.id, Channel.SMS, NUMBER, source=OptOutSource.API, now=NOW
    )


async def test_list_shows_opted_out_addresses_newest_first(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """The listing holds opted-out addresses, most recent change first."""
    repository = OptOutRepository(engine)
    await repository.set(
        tenant.id, Channel.SMS, "+31600000001", opted_out=True, source=OptOutSource.API, now=NOW
    )
    await repository.set(
        tenant.id,
        Channel.SMS,
        "+31600000002",
        opted_out=True,
        source=OptOutSource.API,
        now=later(1),
    )
    await repository.set(
        tenant.id,
        Channel.SMS,
        "+31600000003",
        opted_out=False,
        source=OptOutSource.API,
        now=later(2),
    )
    listed = await repository.list(tenant.id)
    assert [each.address for each in listed] == ["+31600000002", "+31600000001"]
