"""Events, webhook endpoints and the deliveries fanned out to them."""

from __future__ import annotations

import asyncio
from itertools import chain

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.errors import InvalidInput
from herald.storage.crypto import SecretBox
from herald.storage.deliveries import EventDeliveries
from herald.storage.endpoints import WebhookEndpointRepository
from herald.storage.events import EventRepository
from herald.storage.schema import webhook_endpoints
from tests.storage.storage_helpers import NOW, later

URL = "https://app.example.com/herald"


async def test_events_are_listed_after_a_cursor(engine: AsyncEngine, tenant: Tenant) -> None:
    """Polling with the last id seen returns only newer events, oldest first."""
    repository = EventRepository(engine)
    made = [
        await repository.append(tenant.id, "message.inbound", {"n": n}, now=later(n))
        for n in range(5)
    ]
    assert made[0].public_id.startswith("evt_")
    page = await repository.list_after(tenant.id, after=made[1].id, limit=2)
    assert [each.payload["n"] for each in page] == [2, 3]
    assert await repository.get(tenant.id, made[4].public_id) == made[4]


async def test_events_are_per_tenant(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A tenant never receives another tenant's events."""
    repository = EventRepository(engine)
    theirs = await repository.append(other_tenant.id, "message.inbound", {}, now=NOW)
    assert await repository.list_after(tenant.id) == []
    assert await repository.get(tenant.id, theirs.public_id) is None


async def test_endpoint_secret_is_shown_once_and_stored_encrypted(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Creating an endpoint returns its whsec_ secret; the database holds it encrypted."""
    repository = WebhookEndpointRepository(engine, box)
    created = await repository.create(tenant.id, URL, now=NOW)
    assert created.secret.startswith("whsec_")
    assert created.endpoint.id.startswith("we_")
    async with engine.connect() as connection:
        stored = await connection.scalar(select(webhook_endpoints.c.secret_encrypted))
    assert stored is not None
    assert created.secret not in stored
    assert await repository.secret(created.endpoint.id) == created.secret
    assert created.secret not in repr(created)


async def test_endpoint_url_must_be_http(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A URL that is not absolute http(s) is refused."""
    with pytest.raises(InvalidInput, match="absolute http"):
        await WebhookEndpointRepository(engine, box).create(tenant.id, "ftp://x", now=NOW)


async def test_appended_event_fans_out_to_matching_endpoints(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant, box: SecretBox
) -> None:
    """One delivery per active endpoint of the tenant that wants the type."""
    endpoints = WebhookEndpointRepository(engine, box)
    every = await endpoints.create(tenant.id, URL, now=NOW)
    inbound_only = await endpoints.create(
        tenant.id, URL + "/in", now=NOW, event_types=["message.inbound"]
    )
    await endpoints.create(tenant.id, URL + "/opt", now=NOW, event_types=["opt_out.changed"])
    await endpoints.create(other_tenant.id, URL, now=NOW)
    event = await EventRepository(engine).append(tenant.id, "message.inbound", {}, now=NOW)
    deliveries = await EventDeliveries(engine, box).for_event(event.id)
    assert sorted(each.endpoint_id for each in deliveries) == sorted(
        [every.endpoint.id, inbound_only.endpoint.id]
    )


async def test_type_filter_is_exact(engine: AsyncEngine, tenant: Tenant, box: SecretBox) -> None:
    """An underscore in a type is not a wildcard: opt_out.changed does not match optXout.changed."""
    await WebhookEndpointRepository(engine, box).create(
        tenant.id, URL, now=NOW, event_types=["opt_out.changed"]
    )
    event = await EventRepository(engine).append(tenant.id, "optXout.changed", {}, now=NOW)
    assert await EventDeliveries(engine, box).for_event(event.id) == []


async def test_disabled_endpoint_gets_nothing_new_and_drops_pending(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Disabling an endpoint gives up its pending deliveries and stops new ones."""
    endpoints = WebhookEndpointRepository(engine, box)
    created = await endpoints.create(tenant.id, URL, now=NOW)
    events = EventRepository(engine)
    pending = await events.append(tenant.id, "message.inbound", {}, now=NOW)
    assert await endpoints.disable(tenant.id, created.endpoint.id, now=later(1))
    [given_up] = await EventDeliveries(engine, box).for_event(pending.id)
    assert given_up.given_up_at == later(1)
    later_event = await events.append(tenant.id, "message.inbound", {}, now=later(2))
    assert await EventDeliveries(engine, box).for_event(later_event.id) == []
    assert await endpoints.list(tenant.id) == []


async def test_another_tenant_cannot_disable(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant, box: SecretBox
) -> None:
    """Disabling through the wrong tenant finds nothing."""
    endpoints = WebhookEndpointRepository(engine, box)
    created = await endpoints.create(tenant.id, URL, now=NOW)
    assert not await endpoints.disable(other_tenant.id, created.endpoint.id, now=NOW)
    assert await endpoints.get(other_tenant.id, created.endpoint.id) is None
    assert await endpoints.list(tenant.id) == [created.endpoint]


async def test_claimed_delivery_carries_event_url_and_secret(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A claimed delivery has what a worker needs to sign and post it."""
    created = await WebhookEndpointRepository(engine, box).create(tenant.id, URL, now=NOW)
    event = await EventRepository(engine).append(tenant.id, "message.inbound", {"a": 1}, now=NOW)
    [task] = await EventDeliveries(engine, box).claim("w1", now=NOW, lease_seconds=30, limit=10)
    assert (task.event, task.url, task.secret) == (event, URL, created.secret)
    assert task.delivery.attempts == 1
    assert created.secret not in repr(task)


async def test_success_finishes_the_delivery(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A delivered event is recorded and never claimed again."""
    await WebhookEndpointRepository(engine, box).create(tenant.id, URL, now=NOW)
    await EventRepository(engine).append(tenant.id, "message.inbound", {}, now=NOW)
    deliveries = EventDeliveries(engine, box)
    [task] = await deliveries.claim("w1", now=NOW, lease_seconds=30, limit=10)
    assert await deliveries.record_success(task.delivery.id, "w1", now=later(1), status_code=204)
    assert await deliveries.claim("w1", now=later(999), lease_seconds=30, limit=10) == []
    [done] = await deliveries.for_event(task.event.id)
    assert (done.delivered_at, done.last_status_code) == (later(1), 204)


async def test_retry_is_due_later_and_give_up_is_final(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A failed attempt is retried at its time; after giving up nothing is claimed."""
    await WebhookEndpointRepository(engine, box).create(tenant.id, URL, now=NOW)
    await EventRepository(engine).append(tenant.id, "message.inbound", {}, now=NOW)
    deliveries = EventDeliveries(engine, box)
    [task] = await deliveries.claim("w1", now=NOW, lease_seconds=30, limit=10)
    assert await deliveries.schedule_retry(
        task.delivery.id,
        "w1",
        now=later(1),
        next_attempt_at=later(60),
        status_code=500,
        error="boom",
    )
    assert await deliveries.claim("w1", now=later(59), lease_seconds=30, limit=10) == []
    [again] = await deliveries.claim("w1", now=later(60), lease_seconds=30, limit=10)
    assert again.delivery.attempts == 2
    assert await deliveries.give_up(
        again.delivery.id, "w1", now=later(61), status_code=None, error="timeout"
    )
    assert await deliveries.claim("w1", now=later(9999), lease_seconds=30, limit=10) == []


async def test_lost_delivery_lease_refuses_the_outcome(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """After its lease expired and another worker claimed it, the first worker's word is refused."""
    await WebhookEndpointRepository(engine, box).create(tenant.id, URL, now=NOW)
    await EventRepository(engine).append(tenant.id, "message.inbound", {}, now=NOW)
    deliveries = EventDeliveries(engine, box)
    [task] = await deliveries.claim("w1", now=NOW, lease_seconds=30, limit=10)
    [again] = await deliveries.claim("w2", now=later(30), lease_seconds=30, limit=10)
    assert again.delivery.id == task.delivery.id
    assert not await deliveries.record_success(
        task.delivery.id, "w1", now=later(31), status_code=200
    )


async def test_concurrent_delivery_claims_are_disjoint(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """Workers claiming deliveries at once never get the same one."""
    await WebhookEndpointRepository(engine, box).create(tenant.id, URL, now=NOW)
    events = EventRepository(engine)
    for n in range(20):
        await events.append(tenant.id, "message.inbound", {"n": n}, now=NOW)
    deliveries = EventDeliveries(engine, box)
    batches = await asyncio.gather(
        *(deliveries.claim(f"w{n}", now=NOW, lease_seconds=30, limit=8) for n in range(3))
    )
    claimed = [task.delivery.id for task in chain.from_iterable(batches)]
    assert len(claimed) == len(set(claimed))
