"""What the API's routes need, gathered in one frozen value that the composition root builds.

Routes never build their own engine, repositories or clock: `create_api(deps)` stores an
`ApiDeps` on the app, and each route receives it through the `api_deps` dependency. Tests build
one over a real database with `ApiDeps.build(settings, engine, box, clock=...)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.settings import Settings
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox
from herald.storage.endpoints import WebhookEndpointRepository
from herald.storage.events import EventRepository
from herald.storage.heartbeats import Heartbeats
from herald.storage.inbound import InboundRepository
from herald.storage.messages import MessageRepository
from herald.storage.optouts import OptOutRepository
from herald.storage.tenants import TenantRepository
from herald.storage.throttles import DatabaseThrottle, Throttle
from herald.storage.verifications import VerificationRepository
from herald.verification import VerificationService, VerifyClients
from herald.verification.delivery import CodeSender

Clock = Callable[[], datetime]

DEFAULT_HEARTBEAT_MAX_AGE: Final = timedelta(seconds=60)
"""How old the latest worker heartbeat may be before `/readyz` reports the worker missing."""


def utc_now() -> datetime:
    """The current time, timezone-aware UTC: the clock Herald runs on outside tests."""
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class ApiDeps:
    """Settings, repositories and clock shared by every route of one API app.

    `worker_expected` says whether `/readyz` requires a recent worker heartbeat (false for an
    API-only process whose workers are watched elsewhere); `heartbeat_max_age` is how recent.
    """

    settings: Settings
    engine: AsyncEngine
    tenants: TenantRepository
    api_keys: ApiKeyRepository
    messages: MessageRepository
    opt_outs: OptOutRepository
    inbound: InboundRepository
    events: EventRepository
    endpoints: WebhookEndpointRepository
    heartbeats: Heartbeats
    clock: Clock = utc_now
    worker_expected: bool = True
    heartbeat_max_age: timedelta = DEFAULT_HEARTBEAT_MAX_AGE
    verifications: VerificationService | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        box: SecretBox,
        *,
        clock: Clock = utc_now,
        worker_expected: bool = True,
        heartbeat_max_age: timedelta = DEFAULT_HEARTBEAT_MAX_AGE,
        verify_clients: VerifyClients | None = None,
        throttle: Throttle | None = None,
    ) -> ApiDeps:
        """The repositories over `engine` (secrets under `box`), with the given clock.

        Verifications use `throttle` (counters in the database by default) and reach Twilio
        Verify through `verify_clients`; without them only the built-in engine works.
        """
        messages = MessageRepository(engine)
        opt_outs = OptOutRepository(engine)
        inbound = InboundRepository(engine)
        verifications = VerificationService(
            repository=VerificationRepository(engine),
            throttle=throttle or DatabaseThrottle(engine),
            sender=CodeSender(messages, opt_outs, inbound),
            secret_key=settings.secret_key,
            clock=clock,
            verify_clients=verify_clients,
        )
        return cls(
            settings=settings,
            engine=engine,
            tenants=TenantRepository(engine, box),
            api_keys=ApiKeyRepository(engine, cache_seconds=settings.api_key_cache_seconds),
            messages=messages,
            opt_outs=opt_outs,
            inbound=inbound,
            events=EventRepository(engine),
            endpoints=WebhookEndpointRepository(engine, box),
            heartbeats=Heartbeats(engine),
            clock=clock,
            worker_expected=worker_expected,
            heartbeat_max_age=heartbeat_max_age,
            verifications=verifications,
        )


async def api_deps(request: Request) -> ApiDeps:
    """The `ApiDeps` of the app serving `request` (set by `create_api`)."""
    deps: ApiDeps = request.app.state.herald
    return deps


Deps = Annotated[ApiDeps, Depends(api_deps)]
"""A route parameter receiving the app's `ApiDeps`."""
