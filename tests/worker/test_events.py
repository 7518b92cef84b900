"""Event delivery to an application's endpoint: signed, retried, given up after the horizon."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.phone import Channel
from herald.domain.records import OptOutSource, Tenant
from herald.domain.webhook_signing import verify_webhook
from herald.storage.crypto import SecretBox
from herald.storage.endpoints import WebhookEndpointRepository
from herald.storage.events import EventRepository
from herald.worker import EventDelivery, WorkerDeps
from tests.worker.receiver import Receiver, receiving
from tests.worker.worker_helpers import ManualClock


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The application's endpoint."""
    async with receiving() as running:
        yield running


@pytest.fixture
async def secret(
    engine: AsyncEngine, box: SecretBox, tenant: Tenant, receiver: Receiver, clock: ManualClock
) -> str:
    """The signing secret of the tenant's endpoint at the receiver."""
    created = await WebhookEndpointRepository(engine, box).create(
        tenant.id, receiver.url, now=clock.now()
    )
    return created.secret


async def _opt_out(deps: WorkerDeps, tenant: Tenant, clock: ManualClock) -> None:
    await deps.opt_outs.set(
        tenant.id, Channel.SMS, "+31612345678", opted_out=True, source=OptOutSource.KEYWORD,
        now=clock.now(), keyword="STOP",
    )  # fmt: skip


async def _deliver_due(deps: WorkerDeps) -> list[bool]:
    delivery = EventDelivery(deps)
    return [await delivery.deliver(task) for task in await delivery.claim(10)]


async def test_an_event_is_posted_signed_per_standard_webhooks(
    deps: WorkerDeps, tenant: Tenant, receiver: Receiver, secret: str, clock: ManualClock
) -> None:
    """The endpoint gets the event's envelope with a signature its secret verifies."""
    await _opt_out(deps, tenant, clock)
    assert await _deliver_due(deps) == [True]
    (request,) = receiver.requests
    assert verify_webhook(secret, request.headers, request.body, now=clock.now().timestamp())
    event = json.loads(request.body)
    assert (event["type"], event["data"]["address"]) == ("opt_out.changed", "+31612345678")
    assert request.headers["webhook-id"] == event["id"]


async def test_a_failed_delivery_is_retried_with_the_same_webhook_id(
    deps: WorkerDeps, tenant: Tenant, receiver: Receiver, secret: str, clock: ManualClock
) -> None:
    """A 500 is retried later, and the retry carries the same webhook-id."""
    receiver.script.append(500)
    await _opt_out(deps, tenant, clock)
    assert await _deliver_due(deps) == [False]
    assert await _deliver_due(deps) == []
    clock.advance(3600)
    assert await _deliver_due(deps) == [True]
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


async def test_a_delivery_is_given_up_after_the_horizon(
    *,
    deps: WorkerDeps,
    engine: AsyncEngine,
    tenant: Tenant,
    receiver: Receiver,
    secret: str,
    clock: ManualClock,
) -> None:
    """Past HERALD_EVENT_RETRY_HOURS a failing delivery is given up, not retried again."""
    receiver.script.extend([500] * 100)
    await _opt_out(deps, tenant, clock)
    for _ in range(60):
        await _deliver_due(deps)
        clock.advance(3600)
    (delivery,) = await deps.deliveries.for_event(await _event_id(engine, tenant))
    assert delivery.given_up_at is not None
    horizon = timedelta(hours=deps.settings.event_retry_hours)
    assert delivery.given_up_at >= delivery.created_at + horizon
    assert delivery.last_status_code == 500
    assert len(receiver.requests) == delivery.attempts > 1


async def _event_id(engine: AsyncEngine, tenant: Tenant) -> int:
    (event,) = await EventRepository(engine).list_after(tenant.id)
    return event.id


async def test_an_unreachable_endpoint_is_retried(
    deps: WorkerDeps, engine: AsyncEngine, box: SecretBox, tenant: Tenant, clock: ManualClock
) -> None:
    """A refused connection is recorded and tried again later."""
    await WebhookEndpointRepository(engine, box).create(
        tenant.id, "http://127.0.0.1:9/hooks", now=clock.now()
    )
    await _opt_out(deps, tenant, clock)
    assert await _deliver_due(deps) == [False]
    (delivery,) = await deps.deliveries.for_event(await _event_id(engine, tenant))
    assert delivery.last_error is not None
    assert delivery.next_attempt_at is not None
