"""Reconciliation: asking Twilio about messages whose status callback never came.

Every round (`Reconciler.run_once`) claims up to `HERALD_RECONCILE_BATCH_SIZE` messages that sit
in a non-final status after the hand-over (`queued`, `sending`, `sent`) for at least
`HERALD_RECONCILE_AFTER_SECONDS` since their last status change (storage/reconcile.py), fetches
each from Twilio (`fetch_message`, at most `FETCH_CONCURRENCY` at once) and applies what Twilio
says through `StatusReports.apply_report` with the source `reconcile`: the same forwards-only
rule, history entry and `message.status_changed` event as a callback, so a late or repeated
report can never move a status backwards.

After each check the message is not asked about again before as long as it had already been
stuck (at least the interval): checks come 1, 2, 4, 8... intervals after the last
status change, so a message whose carrier sends no receipt costs a handful of requests, and
none after `HORIZON` (three days).

- Twilio answers 404 (20404): the message is gone from the account (deleted, or the tenant's
  credentials now name another account). Herald invents no status: the answer goes into the
  history (the current status, not applied, error 20404) and the message is asked about again
  on the same back-off until the horizon.
- Any other failure (Twilio unreachable, 429/5xx after the client's own retries, no
  credentials, a status Herald does not know) leaves the message as it is, to be asked again on
  the same back-off.

Rounds run every `poll_seconds(after)`; each logs one info line with its counts (message ids
only in warnings, never phone numbers or bodies).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Final

from herald.domain.lifecycle import from_twilio
from herald.domain.records import HistorySource, MessageRecord
from herald.errors import ConfigurationError, ProviderError
from herald.storage.reconcile import UNSETTLED
from herald.worker.deps import WorkerDeps
from herald.worker.pool import wait_or_stop

logger = logging.getLogger("herald.worker")

FETCH_CONCURRENCY: Final = 8
MAX_POLL_SECONDS: Final = 30.0
NOT_FOUND: Final = 20404
_HTTP_NOT_FOUND: Final = 404


def poll_seconds(after: float) -> float:
    """Pause between rounds: half the interval, at most `MAX_POLL_SECONDS`."""
    return min(after / 2, MAX_POLL_SECONDS)


@dataclasses.dataclass(slots=True)
class RoundCounts:
    """What one round did: messages claimed, moved on, unchanged, gone at Twilio, failed."""

    claimed: int = 0
    advanced: int = 0
    unchanged: int = 0
    missing: int = 0
    errors: int = 0


class Reconciler:
    """Fetches stuck messages from Twilio and applies their status (see the module docstring)."""

    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps
        self._store = deps.reconciliations
        self._after = timedelta(seconds=deps.settings.reconcile_after_seconds)

    @property
    def enabled(self) -> bool:
        """Whether reconciliation is on (`HERALD_RECONCILE_AFTER_SECONDS` above 0)."""
        return self._after > timedelta(0)

    async def run(self, stop: asyncio.Event) -> None:
        """Run a round every `poll_seconds` until `stop` is set; a failing round is logged.

        A round still running when `stop` is set is cancelled rather than awaited (a slow
        Twilio must not hold up shutdown): its messages were claimed with their next check an
        interval ahead, and a report being applied is one transaction, so nothing is left
        half-done; they are checked again an interval later.
        """
        if not self.enabled:
            return
        pause = poll_seconds(self._after.total_seconds())
        while not stop.is_set():
            current = asyncio.create_task(self.run_once())
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({current, stopping}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                current.cancel()
                raise
            finally:
                stopping.cancel()
            if not current.done():
                current.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await current
                return
            if current.exception() is not None:
                logger.error(
                    "worker %s: reconciliation round failed",
                    self._deps.worker_id,
                    exc_info=current.exception(),
                )
            await wait_or_stop(stop, pause)

    async def run_once(self) -> RoundCounts:
        """Claim one batch, check every message in it, and log the counts."""
        deps = self._deps
        counts = RoundCounts()
        if not self.enabled:
            return counts
        claimed = await self._store.claim(
            now=deps.now(), after=self._after, limit=deps.settings.reconcile_batch_size
        )
        counts.claimed = len(claimed)
        if not claimed:
            return counts
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def check(message: MessageRecord) -> None:
            async with gate:
                try:
                    await self._check(message, counts)
                except Exception:
                    # The database failed under it: the message is checked an interval later.
                    logger.exception("reconciling %s failed", message.id)
                    counts.errors += 1

        await asyncio.gather(*(check(message) for message in claimed))
        logger.info(
            "worker %s reconciled %d messages: %d advanced, %d unchanged, %d missing at "
            "Twilio, %d not checked (errors)",
            deps.worker_id,
            counts.claimed,
            counts.advanced,
            counts.unchanged,
            counts.missing,
            counts.errors,
        )
        return counts

    async def _check(self, message: MessageRecord, counts: RoundCounts) -> None:
        deps = self._deps
        assert message.provider_sid is not None  # claimed only with one
        updated_at = message.updated_at
        try:
            provider = await deps.providers.for_tenant(message.tenant_id)
            fetched = await provider.fetch_message(message.provider_sid)
            reported = from_twilio(fetched.status)
        except ProviderError as error:
            if error.status == _HTTP_NOT_FOUND or error.provider_code == NOT_FOUND:
                await self._record_missing(message)
                counts.missing += 1
            else:
                logger.warning(
                    "reconciling %s: Twilio could not be asked (%s); asking again later",
                    message.id,
                    error.provider_code or error.status or "no answer",
                )
                counts.errors += 1
        except (ConfigurationError, ValueError) as error:
            logger.warning("reconciling %s failed: %s", message.id, error)
            counts.errors += 1
        else:
            now = deps.now()
            outcome = await deps.reports.apply_report(
                reported=reported,
                occurred_at=fetched.date_updated,
                now=now,
                source=HistorySource.RECONCILE,
                message_id=message.id,
                provider_status=fetched.status,
                error_code=fetched.error_code,
                error_message=fetched.error_message,
            )
            if outcome is not None and outcome.transition.changed:
                counts.advanced += 1
                updated_at = outcome.message.updated_at
                if outcome.message.status not in UNSETTLED:
                    return
            else:
                counts.unchanged += 1
        await self._store.checked(message.id, next_check_at=self._next_check(updated_at))

    async def _record_missing(self, message: MessageRecord) -> None:
        now = self._deps.now()
        await self._deps.reports.apply_report(
            reported=message.status,
            occurred_at=now,
            now=now,
            source=HistorySource.RECONCILE,
            message_id=message.id,
            error_code=NOT_FOUND,
            error_message=(
                f"Twilio has no message {message.provider_sid} (404) in this account; the "
                "status is left as it was."
            ),
        )

    def _next_check(self, updated_at: datetime) -> datetime:
        """As long again as the message has been stuck, and at least the interval."""
        now = self._deps.now()
        return now + max(self._after, now - updated_at)
