"""Webhook receipts de-duplicate callbacks; idempotency keys and heartbeats expire and report."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.storage.heartbeats import Heartbeats
from herald.storage.messages import MessageRepository
from herald.storage.receipts import IdempotencyKeys, WebhookReceipts
from tests.storage.storage_helpers import NOW, later, sms


async def test_first_time_then_seen(engine: AsyncEngine) -> None:
    """A key is new once; the same key again is a duplicate."""
    receipts = WebhookReceipts(engine)
    assert await receipts.first_time("SM1:delivered", received_at=NOW)
    assert not await receipts.first_time("SM1:delivered", received_at=later(1))
    assert await receipts.first_time("SM1:sent", received_at=later(1))


async def test_concurrent_duplicates_count_once(engine: AsyncEngine) -> None:
    """Two copies of a callback processed at once: exactly one is first."""
    receipts = WebhookReceipts(engine)
    answers = await asyncio.gather(*(receipts.first_time("tok", received_at=NOW) for _ in range(4)))
    assert sorted(answers) == [False, False, False, True]


async def test_old_receipts_expire(engine: AsyncEngine) -> None:
    """Receipts older than the cut-off are removed; newer ones stay."""
    receipts = WebhookReceipts(engine)
    await receipts.first_time("old", received_at=NOW)
    await receipts.first_time("new", received_at=later(100))
    assert await receipts.expire(before=later(50)) == 1
    assert not await receipts.first_time("new", received_at=later(101))


async def test_expired_idempotency_key_can_be_reused(engine: AsyncEngine, tenant: Tenant) -> None:
    """After its key expires, the same key creates a new message."""
    repository = MessageRepository(engine)
    first = await repository.accept(tenant.id, sms(), now=NOW, idempotency_key="k", fingerprint="f")
    assert await IdempotencyKeys(engine).expire(before=later(3600)) == 1
    again = await repository.accept(
        tenant.id, sms(), now=later(3601), idempotency_key="k", fingerprint="f"
    )
    assert again.created
    assert again.message.id != first.message.id


async def test_latest_heartbeat(engine: AsyncEngine) -> None:
    """The latest heartbeat is the most recent beat of any worker."""
    heartbeats = Heartbeats(engine)
    assert await heartbeats.latest() is None
    await heartbeats.beat("w1", now=NOW)
    await heartbeats.beat("w2", now=later(5))
    await heartbeats.beat("w1", now=later(10))
    latest = await heartbeats.latest()
    assert latest is not None
    assert (latest.worker_id, latest.seen_at) == ("w1", later(10))
    assert await heartbeats.prune(before=later(6)) == 1
