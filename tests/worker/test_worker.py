"""The worker as a whole: it runs its loops until stopped and leaves nothing claimed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.records import MessageRecord, Tenant
from herald.providers import ProviderMessage, SendRequest
from herald.storage.heartbeats import Heartbeats
from herald.worker import Worker, WorkerDeps
from tests.worker.worker_helpers import FlakyLookupTwilio, ManualClock, OneProvider, accept, sms

WAIT = 10.0
POLL = 0.02


class HangingTwilio(FlakyLookupTwilio):
    """A Twilio that never answers a send."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock.now)
        self.asked = asyncio.Event()

    async def send_message(self, request: SendRequest) -> ProviderMessage:
        """Wait forever, once asked."""
        self.requests.append(request)
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(int(WAIT / POLL)):
        if await condition():
            return
        await asyncio.sleep(POLL)
    raise AssertionError("the condition did not come true in time")


async def _status(deps: WorkerDeps, message: MessageRecord) -> MessageRecord:
    stored = await deps.messages.get(message.tenant_id, message.id)
    assert stored is not None
    return stored


async def test_the_worker_sends_and_stops_when_told(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A running worker sends a due message, and returns once stop is set."""
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(deps).run(stop))

    async def sent() -> bool:
        return (await _status(deps, message)).status is Status.QUEUED

    await _until(sent)
    stop.set()
    await asyncio.wait_for(running, WAIT)
    assert len(fake.messages) == 1


async def test_the_worker_beats(
    deps: WorkerDeps, engine: AsyncEngine, tenant: Tenant, clock: ManualClock
) -> None:
    """A running worker records its heartbeat."""
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(deps).run(stop))

    async def beaten() -> bool:
        return await Heartbeats(engine).latest() is not None

    await _until(beaten)
    stop.set()
    await asyncio.wait_for(running, WAIT)
    latest = await Heartbeats(engine).latest()
    assert latest is not None
    assert (latest.worker_id, latest.seen_at) == ("worker-1", clock.now())


async def test_a_send_in_flight_at_stop_is_settled_for_a_look_up(
    deps: WorkerDeps, tenant: Tenant, clock: ManualClock
) -> None:
    """A send still unanswered when the grace ends leaves the message unclaimed, attempt kept."""
    hanging = HangingTwilio(clock)
    settings = dataclasses.replace(deps.settings, worker_lease_seconds=0.4)
    deps = dataclasses.replace(deps, providers=OneProvider(hanging), settings=settings)
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(deps).run(stop))
    await asyncio.wait_for(hanging.asked.wait(), WAIT)
    stop.set()
    await asyncio.wait_for(running, WAIT)
    stored = await _status(deps, message)
    assert (stored.lease_owner, stored.status, stored.attempts) == (None, Status.ACCEPTED, 1)
    assert stored.next_attempt_at == clock.now()


async def test_housekeeping_forgets_old_receipts(
    deps: WorkerDeps, tenant: Tenant, clock: ManualClock
) -> None:
    """Webhook receipts older than two days are forgotten; newer ones kept."""
    await deps.receipts.first_time("old", received_at=clock.now() - timedelta(days=3))
    await deps.receipts.first_time("new", received_at=clock.now())
    counts = await Worker(deps).housekeeping()
    assert counts["webhook_receipts"] == 1
    assert not await deps.receipts.first_time("new", received_at=clock.now())
