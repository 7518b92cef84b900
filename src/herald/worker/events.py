"""Delivery of events to the applications' webhook endpoints, signed per Standard Webhooks.

Each due delivery (one event x one endpoint, created with the event by storage) is claimed
under a lease and POSTed: the envelope of `herald.domain.events` as compact JSON, with the
`webhook-id` (the event's public id, the same on every attempt), `webhook-timestamp` (this
attempt) and `webhook-signature` headers of `herald.domain.webhook_signing`.

A 2xx answer delivers it. Anything else (another status, a time-out, a refused connection, a
redirect, which is not followed) is retried with exponential backoff and full jitter (up to an
hour apart; a `Retry-After` on 429/503 is honoured) until `HERALD_EVENT_RETRY_HOURS` after the
event; the last attempt is made at that horizon, then the delivery is given up.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp

from herald import __version__
from herald.domain.events import EventType, encode_event, envelope
from herald.domain.records import DeliveryTask
from herald.domain.webhook_signing import sign_webhook
from herald.providers import RetryPolicy
from herald.worker.deps import WorkerDeps
from herald.worker.pool import run_pool

logger = logging.getLogger("herald.worker.events")

DELIVERY_TIMEOUT: Final = aiohttp.ClientTimeout(total=15, connect=5)
USER_AGENT: Final = f"herald/{__version__} (webhooks)"
DELIVERY_RETRY: Final = RetryPolicy(base_delay=5.0, max_delay=3600.0, max_attempts=1_000_000)
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})
_MAX_ERROR_TEXT: Final = 200


class EventDelivery:
    """Claims due event deliveries and posts them to the endpoints."""

    def __init__(
        self,
        deps: WorkerDeps,
        *,
        retry: RetryPolicy = DELIVERY_RETRY,
        timeout: aiohttp.ClientTimeout = DELIVERY_TIMEOUT,
    ) -> None:
        self._deps = deps
        self._retry = retry
        self._timeout = timeout
        self._horizon = timedelta(hours=deps.settings.event_retry_hours)

    async def claim(self, limit: int) -> list[DeliveryTask]:
        """Lease up to `limit` due deliveries to this worker."""
        deps = self._deps
        return await deps.deliveries.claim(
            deps.worker_id,
            now=deps.now(),
            lease_seconds=deps.settings.worker_lease_seconds,
            limit=limit,
        )

    async def deliver(self, task: DeliveryTask) -> bool:
        """Post one event; True when the endpoint took it. The outcome is recorded either way."""
        deps = self._deps
        delivery = task.delivery
        try:
            status, error, retry_after = await self._post(task)
        except asyncio.CancelledError:
            # Stopping: give the delivery back at once instead of holding its lease.
            now = deps.now()
            await deps.deliveries.schedule_retry(
                delivery.id,
                deps.worker_id,
                now=now,
                next_attempt_at=now,
                status_code=None,
                error="interrupted: the worker stopped",
            )
            raise
        now = deps.now()
        if status is not None and _ok(status):
            await deps.deliveries.record_success(
                delivery.id, deps.worker_id, now=now, status_code=status
            )
            return True
        deadline = task.event.created_at + self._horizon
        next_at = now + timedelta(seconds=self._retry.delay(delivery.attempts, retry_after))
        if now >= deadline:
            logger.warning(
                "event %s to endpoint %s: giving up after %d attempts (%s)",
                task.event.public_id,
                delivery.endpoint_id,
                delivery.attempts,
                error,
            )
            await deps.deliveries.give_up(
                delivery.id, deps.worker_id, now=now, status_code=status, error=error
            )
            return False
        await deps.deliveries.schedule_retry(
            delivery.id,
            deps.worker_id,
            now=now,
            # The last attempt is made at the horizon itself, not skipped because of jitter.
            next_attempt_at=min(next_at, deadline),
            status_code=status,
            error=error,
        )
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        settings = self._deps.settings
        await run_pool(
            "event delivery",
            claim=self.claim,
            handle=self.deliver,
            label=lambda task: f"delivery {task.delivery.id} of {task.event.public_id}",
            concurrency=self._deps.delivery_concurrency,
            batch_size=settings.worker_batch_size,
            poll_seconds=settings.worker_poll_seconds,
            stop=stop,
            grace=min(self._timeout.total or 0.0, settings.worker_lease_seconds / 2),
        )

    async def _post(self, task: DeliveryTask) -> tuple[int | None, str, float | None]:
        """(status, error for the record, Retry-After seconds) of one attempt."""
        event = task.event
        body = encode_event(
            envelope(event.public_id, EventType(event.type), event.created_at, event.payload)
        )
        headers = sign_webhook(
            task.secret, event.public_id, int(self._deps.now().timestamp()), body
        )
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        try:
            async with self._deps.session.post(
                task.url,
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = (
                    _retry_after(response.headers.get("Retry-After"), self._deps.now())
                    if status in _RETRY_AFTER_STATUSES
                    else None
                )
        except TimeoutError:
            return None, f"no answer within {self._timeout.total:.0f} s", None
        except aiohttp.ClientError as exc:
            return None, _short(f"{type(exc).__name__}: {exc}"), None
        if _ok(status):
            return status, "", None
        return status, f"HTTP {status}", retry_after


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300  # noqa: PLR2004 - the 2xx class


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
