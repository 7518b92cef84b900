"""One attempt at handing one claimed message to the provider, and recording what happened.

The order of the steps matters:

1. **Look up first when an earlier attempt may have reached Twilio** (the message's
   `attempts` is above 1: its first attempt ended ambiguously, failed, or its worker died).
   A message Twilio already has is adopted (`mark_sent` with Twilio's SID and status), whatever
   changed since; if the look-up itself fails nothing is known, and the message waits for the
   next look-up, never for a blind resend.
2. **Recheck** the recipient's state (`policy.recheck_before_send`): an opt-out that arrived, or
   a WhatsApp window that closed, while the message waited fails it.
3. **Rate limit**: over its sender's rate, the message goes back to the outbox until its slot,
   without using up an attempt.
4. **Send**, and record: `mark_sent`; a permanent error `mark_failed` with Twilio's code; a
   retryable one `schedule_retry` with backoff until the attempts are used up; `AmbiguousSend`
   a look-up (step 1's rule, over this attempt's window).

Every record is guarded by the lease: when it answers False the message belongs to another
worker now, and this one leaves it alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from datetime import datetime, timedelta
from typing import Final

from herald.domain.parties import Parties
from herald.domain.policy import recheck_before_send
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import MessageRecord
from herald.domain.redaction import redact
from herald.errors import AmbiguousSend, ConfigurationError, InvalidInput, ProviderError
from herald.providers import MessagingProvider, ProviderMessage, RetryPolicy, SendRequest
from herald.storage.recipients import RecipientFacts
from herald.worker.deps import WorkerDeps
from herald.worker.outgoing import (
    find_created,
    parties_of,
    provider_status,
    send_request,
)

logger = logging.getLogger("herald.worker")

# Twilio's dates are whole seconds, and its clock is not Herald's: widen look-up windows.
LOOKUP_SKEW: Final = timedelta(minutes=2)
# The Twilio error a refused recheck is recorded with: the code Twilio itself would give.
REFUSAL_CODES: Final = {
    ProblemCode.RECIPIENT_OPTED_OUT: 21610,
    ProblemCode.WHATSAPP_WINDOW_CLOSED: 63016,
}


class Outcome(enum.StrEnum):
    """What one attempt did with a claimed message."""

    SENT = "sent"
    ADOPTED = "adopted"
    DEFERRED = "deferred"
    RETRY = "retry"
    FAILED = "failed"
    REFUSED = "refused"
    LEASE_LOST = "lease_lost"


@dataclasses.dataclass(slots=True)
class _Progress:
    """How far an attempt got, for settling it when the worker is stopped mid-way."""

    sending: bool = False
    created: ProviderMessage | None = None


class MessageSender:
    """Takes claimed messages through lookup, recheck, rate limit, send and record."""

    def __init__(self, deps: WorkerDeps, retry: RetryPolicy) -> None:
        self._deps = deps
        self._retry = retry
        self._callback_base = deps.settings.base_url

    async def attempt(self, message: MessageRecord) -> Outcome:
        """Process one claimed message; on cancellation, leave it settled, never claimed."""
        progress = _Progress()
        try:
            return await self._attempt(message, progress)
        except asyncio.CancelledError:
            await self._interrupted(message, progress)
            raise

    async def _attempt(self, message: MessageRecord, progress: _Progress) -> Outcome:
        ready = await self._prepare(message)
        if isinstance(ready, Outcome):
            return ready
        provider, parties, request = ready
        return await self._send(message, provider, parties, request, progress)

    async def _prepare(
        self, message: MessageRecord
    ) -> Outcome | tuple[MessagingProvider, Parties, SendRequest]:
        """Steps 1 and 2: the look-up of an earlier attempt, and the recheck."""
        try:
            parties = parties_of(message)
        except (InvalidInput, ValueError) as exc:
            return await self._fail(message, None, f"Herald cannot send this message: {exc}")
        request = send_request(message, parties.sender, self._callback_base)
        try:
            provider = await self._deps.providers.for_tenant(message.tenant_id)
        except ConfigurationError as exc:
            return await self._retry_or_fail(message, None, exc.detail)
        if message.attempts > 1:
            earlier = await self._look_up(provider, message, request, since=message.created_at)
            if earlier is not None:
                return earlier
        try:
            await self._recheck(message, parties)
        except ProblemError as refusal:
            code = REFUSAL_CODES.get(ProblemCode(refusal.code))
            recorded = await self._fail(message, code, f"{refusal.code}: {refusal.detail}")
            return Outcome.REFUSED if recorded is Outcome.FAILED else recorded
        return provider, parties, request

    async def _send(
        self,
        message: MessageRecord,
        provider: MessagingProvider,
        parties: Parties,
        request: SendRequest,
        progress: _Progress,
    ) -> Outcome:
        """Steps 3 and 4: the sender's rate, then the hand-over and its record."""
        deps = self._deps
        wait = await deps.limiter.acquire(
            parties.sender, float(message.segments or 1), key=message.id
        )
        if wait > 0:
            now = deps.now()
            released = await deps.outbox.release(
                message.id,
                deps.worker_id,
                now=now,
                next_attempt_at=now + timedelta(seconds=wait),
            )
            return Outcome.DEFERRED if released else self._lost(message)
        started = deps.now()
        progress.sending = True
        try:
            created = await provider.send_message(request)
        except AmbiguousSend as exc:
            progress.sending = False
            logger.warning("message %s: %s", message.id, redact(exc.detail))
            found = await self._look_up(provider, message, request, since=started)
            # Provably not created (else `found`): send again, through the outbox.
            return found or await self._retry_or_fail(
                message, None, f"No answer from Twilio, and it has no such message: {exc.detail}"
            )
        except ProviderError as exc:
            progress.sending = False
            return await self._retry_or_fail(
                message,
                exc.provider_code,
                exc.message,
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            )
        progress.sending = False
        progress.created = created
        return await self._record_sent(message, created, Outcome.SENT)

    async def _recheck(self, message: MessageRecord, parties: Parties) -> None:
        deps = self._deps
        free_form = message.content_sid is None
        state = await RecipientFacts(deps.opt_outs, deps.inbound).read(
            message.tenant_id, parties, window=free_form
        )
        recheck_before_send(
            parties,
            opted_out=state.opted_out,
            free_form=free_form,
            whatsapp_last_inbound_at=state.whatsapp_last_inbound_at,
            at=deps.now(),
        )

    async def _look_up(
        self,
        provider: MessagingProvider,
        message: MessageRecord,
        request: SendRequest,
        *,
        since: datetime,
    ) -> Outcome | None:
        """Adopt the message if an earlier attempt created it; None if it provably did not.

        When Twilio cannot be asked the message is put back for another look-up (an Outcome).
        """
        deps = self._deps
        try:
            found = await find_created(
                provider,
                deps.messages,
                message,
                request,
                created_after=since - LOOKUP_SKEW,
                created_before=deps.now() + LOOKUP_SKEW,
            )
        except ProviderError as exc:
            return await self._retry_or_fail(
                message,
                exc.provider_code,
                "An earlier attempt may have reached Twilio, and looking the message up there "
                f"failed; Herald looks again before sending anything: {exc.message}",
                retryable=True,
                retry_after=exc.retry_after,
            )
        if found is None:
            return None
        logger.info("message %s: adopted Twilio message %s", message.id, found.sid)
        return await self._record_sent(message, found, Outcome.ADOPTED)

    async def _record_sent(
        self, message: MessageRecord, created: ProviderMessage, outcome: Outcome
    ) -> Outcome:
        recorded = await self._deps.outbox.mark_sent(
            message.id,
            self._deps.worker_id,
            now=self._deps.now(),
            provider_sid=created.sid,
            status=provider_status(created),
            provider_status=created.status,
            error_code=created.error_code,
            error_message=created.error_message,
        )
        return outcome if recorded else self._lost(message)

    async def _retry_or_fail(
        self,
        message: MessageRecord,
        error_code: int | None,
        error_message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> Outcome:
        attempt = message.attempts
        if not retryable:
            return await self._fail(message, error_code, error_message)
        if not self._retry.may_retry(attempt):
            return await self._fail(
                message, error_code, f"Gave up after {attempt} attempts: {error_message}"
            )
        now = self._deps.now()
        delay = self._retry.delay(attempt, retry_after)
        scheduled = await self._deps.outbox.schedule_retry(
            message.id,
            self._deps.worker_id,
            now=now,
            next_attempt_at=now + timedelta(seconds=delay),
            error_code=error_code,
            error_message=error_message,
        )
        return Outcome.RETRY if scheduled else self._lost(message)

    async def _fail(
        self, message: MessageRecord, error_code: int | None, error_message: str
    ) -> Outcome:
        failed = await self._deps.outbox.mark_failed(
            message.id,
            self._deps.worker_id,
            now=self._deps.now(),
            error_code=error_code,
            error_message=error_message,
        )
        return Outcome.FAILED if failed else self._lost(message)

    def _lost(self, message: MessageRecord) -> Outcome:
        logger.warning(
            "message %s: the lease ran out before the outcome was recorded; another worker "
            "owns it now",
            message.id,
        )
        return Outcome.LEASE_LOST

    async def _interrupted(self, message: MessageRecord, progress: _Progress) -> None:
        """Settle a message whose attempt was cancelled (the worker is stopping)."""
        deps = self._deps
        now = deps.now()
        try:
            if progress.created is not None:
                await self._record_sent(message, progress.created, Outcome.SENT)
            elif progress.sending:
                # The request may have reached Twilio: keep the attempt counted, so that the
                # next one looks the message up before sending.
                await deps.outbox.schedule_retry(
                    message.id,
                    deps.worker_id,
                    now=now,
                    next_attempt_at=now,
                    error_message="The worker stopped while Twilio was being asked; Herald "
                    "looks the message up before sending it again.",
                )
            else:
                await deps.outbox.release(message.id, deps.worker_id, now=now, next_attempt_at=now)
        except Exception:
            logger.exception(
                "message %s: could not settle it while stopping; it is taken up again when "
                "its lease expires",
                message.id,
            )
