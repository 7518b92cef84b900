"""`Worker`: the dispatcher, event delivery, heartbeats and housekeeping, until told to stop.

    worker = Worker(deps)
    stop = asyncio.Event()
    await worker.run(stop)        # returns once stop is set and the work in flight is settled

Five loops run side by side. The dispatcher and event delivery claim work under leases
(dispatcher.py, events.py); the reconciler asks Twilio about messages whose status callback
never came (reconcile.py; off with `HERALD_RECONCILE_AFTER_SECONDS=0`). The heartbeat
records every `HEARTBEAT_SECONDS` that this worker is alive (`/readyz` reads it).
Housekeeping forgets, every `HOUSEKEEPING_SECONDS`, what is kept only for a while:
Idempotency-Keys older than `HERALD_IDEMPOTENCY_HOURS`, webhook receipts older than
`RECEIPT_RETENTION`, heartbeats of workers gone for a day. A failing round of either is
logged and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from herald.worker.deps import WorkerDeps
from herald.worker.dispatcher import Dispatcher
from herald.worker.events import EventDelivery
from herald.worker.pool import wait_or_stop
from herald.worker.reconcile import Reconciler

logger = logging.getLogger("herald.worker")

HEARTBEAT_SECONDS: Final = 5.0
HOUSEKEEPING_SECONDS: Final = 600.0
# Twilio retries a webhook within seconds to minutes; two days covers any late copy.
RECEIPT_RETENTION: Final = timedelta(hours=48)
HEARTBEAT_RETENTION: Final = timedelta(days=1)


class Worker:
    """Sends the outbox, delivers events, beats and tidies up until `stop` is set."""

    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps
        self.dispatcher = Dispatcher(deps)
        self.events = EventDelivery(deps)
        self.reconciler = Reconciler(deps)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every loop until `stop` is set; return once nothing is left claimed."""
        logger.info("worker %s started", self._deps.worker_id)
        async with asyncio.TaskGroup() as group:
            group.create_task(self.dispatcher.run(stop))
            group.create_task(self.events.run(stop))
            group.create_task(self.reconciler.run(stop))
            group.create_task(self._every(HEARTBEAT_SECONDS, self.beat, stop))
            group.create_task(self._every(HOUSEKEEPING_SECONDS, self.housekeeping, stop))
        logger.info("worker %s stopped", self._deps.worker_id)

    async def beat(self) -> None:
        """Record that this worker is alive now (and notice Redis answering again)."""
        await self._deps.limiter.probe()
        await self._deps.heartbeats.beat(self._deps.worker_id, now=self._deps.now())

    async def housekeeping(self) -> dict[str, int]:
        """Forget expired Idempotency-Keys, webhook receipts and heartbeats; how many of each."""
        deps = self._deps
        now = deps.now()
        keys = await deps.idempotency_keys.expire(
            before=now - timedelta(hours=deps.settings.idempotency_hours)
        )
        receipts = await deps.receipts.expire(before=now - RECEIPT_RETENTION)
        heartbeats = await deps.heartbeats.prune(before=now - HEARTBEAT_RETENTION)
        return {"idempotency_keys": keys, "webhook_receipts": receipts, "heartbeats": heartbeats}

    async def _every(
        self, seconds: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                await job()
            except Exception:
                logger.exception("worker %s: %s failed", self._deps.worker_id, job)
            await wait_or_stop(stop, seconds)
