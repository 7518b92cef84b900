"""The dispatcher: claims due messages from the outbox and sends them.

Claims are leased (`Outbox.claim`, `HERALD_WORKER_LEASE_SECONDS`), at most
`HERALD_WORKER_BATCH_SIZE` at a time and never more than there is room for among the
`send_concurrency` sends in flight. Each claimed message goes through `MessageSender.attempt`
(attempt.py). Scheduled messages need nothing special: their `next_attempt_at` is their
`send_at`, so the outbox hands them over when they are due.
"""

from __future__ import annotations

import asyncio
from typing import Final

from herald.domain.records import MessageRecord
from herald.providers import RetryPolicy
from herald.worker.attempt import MessageSender, Outcome
from herald.worker.deps import WorkerDeps
from herald.worker.pool import run_pool

# Ceiling of the backoff between attempts, and the first one's ceiling: 1 s, 2 s, 4 s... 5 min.
RETRY_BASE_SECONDS: Final = 1.0
RETRY_MAX_SECONDS: Final = 300.0
# A stopping worker waits this long for sends in flight (bounded by half the lease).
MAX_SHUTDOWN_GRACE: Final = 10.0


def retry_policy(max_attempts: int) -> RetryPolicy:
    """The backoff the dispatcher uses: full jitter, Retry-After honoured."""
    return RetryPolicy(
        base_delay=RETRY_BASE_SECONDS, max_delay=RETRY_MAX_SECONDS, max_attempts=max_attempts
    )


class Dispatcher:
    """Runs the outbox: claim, attempt, repeat."""

    def __init__(self, deps: WorkerDeps, *, retry: RetryPolicy | None = None) -> None:
        self._deps = deps
        self._sender = MessageSender(deps, retry or retry_policy(deps.settings.send_max_attempts))

    async def claim(self, limit: int) -> list[MessageRecord]:
        """Lease up to `limit` due messages to this worker."""
        deps = self._deps
        return await deps.outbox.claim(
            deps.worker_id,
            now=deps.now(),
            lease_seconds=deps.settings.worker_lease_seconds,
            limit=limit,
        )

    async def attempt(self, message: MessageRecord) -> Outcome:
        """Process one claimed message (see `MessageSender.attempt`)."""
        return await self._sender.attempt(message)

    async def run_once(self) -> list[Outcome]:
        """Claim one batch and process all of it; the outcomes, in claim order."""
        claimed = await self.claim(self._deps.settings.worker_batch_size)
        return list(await asyncio.gather(*(self.attempt(message) for message in claimed)))

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; then finish the sends in flight or settle them."""
        settings = self._deps.settings
        await run_pool(
            "dispatcher",
            claim=self.claim,
            handle=self.attempt,
            label=lambda message: message.id,
            concurrency=self._deps.send_concurrency,
            batch_size=settings.worker_batch_size,
            poll_seconds=settings.worker_poll_seconds,
            stop=stop,
            grace=min(MAX_SHUTDOWN_GRACE, settings.worker_lease_seconds / 2),
        )
