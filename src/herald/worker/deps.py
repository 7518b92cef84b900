"""`WorkerDeps`: everything the worker needs, built once by the composition root."""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Final

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.settings import Settings
from herald.storage.crypto import SecretBox
from herald.storage.deliveries import EventDeliveries
from herald.storage.heartbeats import Heartbeats
from herald.storage.inbound import InboundRepository
from herald.storage.messages import MessageRepository
from herald.storage.optouts import OptOutRepository
from herald.storage.outbox import Outbox
from herald.storage.receipts import IdempotencyKeys, WebhookReceipts
from herald.storage.reconcile import Reconciliations
from herald.storage.reports import StatusReports
from herald.storage.tenants import TenantRepository
from herald.worker.providers import ProviderSource
from herald.worker.ratelimit import RateLimiter

Clock = Callable[[], datetime]
"""The current time, timezone-aware UTC; tests pass a manual one."""

DEFAULT_SEND_CONCURRENCY: Final = 64
DEFAULT_DELIVERY_CONCURRENCY: Final = 16


def new_worker_id() -> str:
    """A worker id unique across hosts and restarts: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerDeps:
    """The worker's collaborators. `send_concurrency` bounds sends in flight at once,
    `delivery_concurrency` event deliveries in flight."""

    settings: Settings
    outbox: Outbox
    messages: MessageRepository
    tenants: TenantRepository
    opt_outs: OptOutRepository
    inbound: InboundRepository
    deliveries: EventDeliveries
    heartbeats: Heartbeats
    receipts: WebhookReceipts
    idempotency_keys: IdempotencyKeys
    reports: StatusReports
    reconciliations: Reconciliations
    providers: ProviderSource
    limiter: RateLimiter
    session: aiohttp.ClientSession
    now: Clock
    worker_id: str
    send_concurrency: int = DEFAULT_SEND_CONCURRENCY
    delivery_concurrency: int = DEFAULT_DELIVERY_CONCURRENCY

    @classmethod
    def create(
        cls,
        *,
        engine: AsyncEngine,
        box: SecretBox,
        settings: Settings,
        session: aiohttp.ClientSession,
        providers: ProviderSource,
        limiter: RateLimiter,
        now: Clock,
        worker_id: str | None = None,
        tenants: TenantRepository | None = None,
    ) -> WorkerDeps:
        """The worker's dependencies on one database, with a fresh worker id unless given."""
        return cls(
            settings=settings,
            outbox=Outbox(engine),
            messages=MessageRepository(engine),
            tenants=tenants or TenantRepository(engine, box),
            opt_outs=OptOutRepository(engine),
            inbound=InboundRepository(engine),
            deliveries=EventDeliveries(engine, box),
            heartbeats=Heartbeats(engine),
            receipts=WebhookReceipts(engine),
            idempotency_keys=IdempotencyKeys(engine),
            reports=StatusReports(engine),
            reconciliations=Reconciliations(engine),
            providers=providers,
            limiter=limiter,
            session=session,
            now=now,
            worker_id=worker_id or new_worker_id(),
        )
