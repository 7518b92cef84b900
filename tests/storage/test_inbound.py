"""Inbound messages are stored once per SID, open WhatsApp windows and notify the application."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.keywords import KeywordKind
from herald.domain.phone import Channel
from herald.domain.records import NewInbound, Tenant
from herald.errors import Conflict
from herald.storage.events import MESSAGE_INBOUND, EventRepository
from herald.storage.inbound import InboundRepository
from tests.storage.storage_helpers import NOW, later

BUSINESS = "whatsapp:+14155550100"
CUSTOMER = "whatsapp:+31612345678"


def _stop(sid: str = "SM" + "1" * 32) -> NewInbound:
    return NewInbound(
        provider_sid=sid,
        channel=Channel.SMS,
        from_="+31612345678",
        to="+14155550100",
        body="Stop",
        keyword_kind=KeywordKind.OPT_OUT,
        keyword="STOP",
        keyword_language="en",
    )


async def test_insert_stores_and_announces(engine: AsyncEngine, tenant: Tenant) -> None:
    """A new inbound message is stored and a message.inbound event is appended with it."""
    repository = InboundRepository(engine)
    received = await repository.insert(tenant.id, _stop(), now=NOW)
    assert received.created
    assert received.message.keyword_kind is KeywordKind.OPT_OUT
    assert await repository.get(tenant.id, received.message.id) == received.message
    events = await EventRepository(engine).list_after(tenant.id)
    assert [(each.type, each.payload["body"]) for each in events] == [(MESSAGE_INBOUND, "Stop")]
    assert events[0].payload["keyword"] == {"kind": "opt_out", "keyword": "STOP", "language": "en"}


async def test_duplicate_webhook_returns_the_stored_message(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same SID again is not an error: the first message comes back, nothing is added."""
    repository = InboundRepository(engine)
    first = await repository.insert(tenant.id, _stop(), now=NOW)
    again = await repository.insert(tenant.id, _stop(), now=later(3))
    assert not again.created
    assert again.message == first.message
    assert len(await EventRepository(engine).list_after(tenant.id)) == 1


async def test_sid_of_another_tenant_is_a_conflict(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A SID stored for one tenant is never handed to another."""
    repository = InboundRepository(engine)
    await repository.insert(tenant.id, _stop(), now=NOW)
    with pytest.raises(Conflict, match="another tenant"):
        await repository.insert(other_tenant.id, _stop(), now=NOW)


async def test_list_is_per_tenant_newest_first(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A tenant lists its own inbound messages, newest first."""
    repository = InboundRepository(engine)
    first = await repository.insert(tenant.id, _stop("SM1"), now=NOW)
    second = await repository.insert(tenant.id, _stop("SM2"), now=later(1))
    await repository.insert(other_tenant.id, _stop("SM3"), now=NOW)
    listed = await repository.list(tenant.id)
    assert [each.id for each in listed] == [second.message.id, first.message.id]
    assert await repository.get(other_tenant.id, first.message.id) is None


async def test_whatsapp_inbound_opens_the_window(engine: AsyncEngine, tenant: Tenant) -> None:
    """A WhatsApp message records when that customer last wrote to that business number."""
    repository = InboundRepository(engine)
    message = NewInbound(
        provider_sid="SMwa", channel=Channel.WHATSAPP, from_=CUSTOMER, to=BUSINESS, body="hi"
    )
    await repository.insert(tenant.id, message, now=NOW)
    assert await repository.last_inbound_at(tenant.id, business=BUSINESS, customer=CUSTOMER) == NOW
    assert (
        await repository.last_inbound_at(tenant.id, business=BUSINESS, customer="whatsapp:+1")
        is None
    )


async def test_window_never_moves_back(engine: AsyncEngine, tenant: Tenant) -> None:
    """A late webhook with an older time does not shorten the window."""
    repository = InboundRepository(engine)
    await repository.record_window(tenant.id, business=BUSINESS, customer=CUSTOMER, at=later(100))
    await repository.record_window(tenant.id, business=BUSINESS, customer=CUSTOMER, at=later(50))
    assert await repository.last_inbound_at(
        tenant.id, business=BUSINESS, customer=CUSTOMER
    ) == later(100)
    await repository.record_window(tenant.id, business=BUSINESS, customer=CUSTOMER, at=later(200))
    assert await repository.last_inbound_at(
        tenant.id, business=BUSINESS, customer=CUSTOMER
    ) == later(200)
