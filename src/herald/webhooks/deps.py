"""`WebhookDeps`: what the Twilio webhook routes need, built once by the composition root."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.settings import Settings
from herald.storage.crypto import SecretBox
from herald.storage.inbound import InboundRepository
from herald.storage.optouts import OptOutRepository
from herald.storage.receipts import WebhookReceipts
from herald.storage.reports import StatusReports
from herald.storage.tenants import TenantRepository

# How long a status callback for a message not yet recorded as sent waits for the worker to
# record it before asking Twilio to try again later.
DEFAULT_UNKNOWN_MESSAGE_WAIT: Final = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookDeps:
    """The webhook routes' collaborators; `now` returns an aware UTC datetime."""

    settings: Settings
    tenants: TenantRepository
    receipts: WebhookReceipts
    reports: StatusReports
    inbound: InboundRepository
    opt_outs: OptOutRepository
    now: Callable[[], datetime]
    unknown_message_wait: float = DEFAULT_UNKNOWN_MESSAGE_WAIT

    @classmethod
    def create(
        cls,
        *,
        engine: AsyncEngine,
        box: SecretBox,
        settings: Settings,
        now: Callable[[], datetime],
        tenants: TenantRepository | None = None,
    ) -> WebhookDeps:
        """The routes' dependencies on one database."""
        return cls(
            settings=settings,
            tenants=tenants or TenantRepository(engine, box),
            receipts=WebhookReceipts(engine),
            reports=StatusReports(engine),
            inbound=InboundRepository(engine),
            opt_outs=OptOutRepository(engine),
            now=now,
        )
