"""The dispatcher against the fake Twilio, on SQLite and PostgreSQL: send, fail, retry, adopt."""

from __future__ import annotations

from datetime import timedelta

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import MessageRecord, OptOutSource, Tenant
from herald.errors import AmbiguousSend, ProviderError, ProviderUnavailable
from herald.providers import LOST_RESPONSE, RetryPolicy
from herald.worker import Dispatcher, Outcome, WorkerDeps
from tests.worker.worker_helpers import SENDER, FlakyLookupTwilio, ManualClock, accept, sms


def _dispatcher(deps: WorkerDeps, **policy: object) -> Dispatcher:
    retry = RetryPolicy(random=lambda: 0.5, **policy)  # type: ignore[arg-type]
    return Dispatcher(deps, retry=retry)


async def _stored(deps: WorkerDeps, message: MessageRecord) -> MessageRecord:
    found = await deps.messages.get(message.tenant_id, message.id)
    assert found is not None
    return found


def _busy(retry_after: float | None = None) -> ProviderError:
    return ProviderError(
        "Too many requests",
        provider_code=20429,
        status=429,
        retryable=True,
        retry_after=retry_after,
    )


async def test_a_message_is_handed_over_and_recorded_with_its_sid(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A due message is sent once and recorded with Twilio's SID and status."""
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    assert await _dispatcher(deps).run_once() == [Outcome.SENT]
    stored = await _stored(deps, message)
    assert stored.status is Status.QUEUED
    assert stored.provider_sid == fake.messages[0].sid
    assert stored.lease_owner is None


async def test_the_request_carries_sender_body_and_status_callback(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """The Twilio request names the sender, the body and Herald's status callback URL."""
    await accept(deps.messages, tenant.id, sms(body="Hello"), clock.now())
    await _dispatcher(deps).run_once()
    request = fake.requests[0]
    assert (request.to, request.from_, request.body) == ("+31612345678", SENDER, "Hello")
    assert request.status_callback == "https://herald.example.com/webhooks/twilio/status"


async def test_a_messaging_service_sender_is_sent_as_messaging_service_sid(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A message from an MG SID is sent with MessagingServiceSid and no From."""
    service = "MG" + "1" * 32
    await accept(deps.messages, tenant.id, sms(from_=service), clock.now())
    await _dispatcher(deps).run_once()
    assert (fake.requests[0].from_, fake.requests[0].messaging_service_sid) == (None, service)


async def test_a_permanent_error_fails_the_message_without_a_retry(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Twilio's 21211 fails the message with its code and message, and it is not sent again."""
    fake.script(ProviderError("refused", provider_code=21211, status=400, message="Invalid 'To'"))
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps)
    assert await dispatcher.run_once() == [Outcome.FAILED]
    clock.advance(3600)
    assert await dispatcher.run_once() == []
    stored = await _stored(deps, message)
    assert (stored.status, stored.error_code, stored.error_message) == (
        Status.FAILED,
        21211,
        "Invalid 'To'",
    )
    assert len(fake.requests) == 1


async def test_a_retryable_error_is_retried_after_its_retry_after(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A 429 with Retry-After schedules the next attempt exactly that far ahead."""
    fake.script(_busy(retry_after=7))
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    assert await _dispatcher(deps).run_once() == [Outcome.RETRY]
    stored = await _stored(deps, message)
    assert stored.next_attempt_at == clock.now() + timedelta(seconds=7)
    assert stored.error_code == 20429


async def test_a_retryable_error_without_retry_after_backs_off_with_jitter(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Without Retry-After the delay is the jittered share of the backoff ceiling."""
    fake.script(ProviderUnavailable("connection refused"))
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    await _dispatcher(deps, base_delay=4.0).run_once()
    stored = await _stored(deps, message)
    assert stored.next_attempt_at == clock.now() + timedelta(seconds=2)


async def test_a_retried_message_is_sent_when_its_time_comes(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """After the pause the message is sent, once."""
    fake.script(_busy(retry_after=7))
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps)
    await dispatcher.run_once()
    clock.advance(6)
    assert await dispatcher.run_once() == []
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.SENT]
    assert (await _stored(deps, message)).attempts == 2
    assert len(fake.messages) == 1


async def test_the_last_allowed_attempt_fails_the_message(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """When the attempts are used up, a retryable error fails the message, naming the count."""
    fake.script(_busy(retry_after=1), _busy(retry_after=1))
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps, max_attempts=2)
    assert await dispatcher.run_once() == [Outcome.RETRY]
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.FAILED]
    stored = await _stored(deps, message)
    assert stored.status is Status.FAILED
    assert stored.error_message is not None
    assert stored.error_message.startswith("Gave up after 2 attempts")


async def test_an_ambiguous_send_that_created_the_message_is_adopted(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A lost answer is resolved by the look-up: the created message is adopted, not resent."""
    fake.script(LOST_RESPONSE)
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    assert await _dispatcher(deps).run_once() == [Outcome.ADOPTED]
    assert len(fake.requests) == 1
    assert (await _stored(deps, message)).provider_sid == fake.messages[0].sid


async def test_an_ambiguous_send_that_created_nothing_is_sent_again(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """When the look-up proves the message absent, it is sent again, once."""
    fake.script(AmbiguousSend("timed out"))
    await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps, base_delay=1.0)
    assert await dispatcher.run_once() == [Outcome.RETRY]
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.SENT]
    assert len(fake.messages) == 1


async def test_a_failed_look_up_never_resends(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """While the look-up fails the message waits; it is not sent blindly."""
    fake.script(LOST_RESPONSE)
    fake.listing_fails = True
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps, base_delay=1.0)
    assert await dispatcher.run_once() == [Outcome.RETRY]
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.RETRY]
    assert len(fake.requests) == 1
    fake.listing_fails = False
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.ADOPTED]
    assert (await _stored(deps, message)).provider_sid == fake.messages[0].sid
    assert len(fake.requests) == 1


async def test_a_look_up_never_adopts_another_messages_twin(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """An identical message sent on purpose before is not mistaken for the lost one."""
    dispatcher = _dispatcher(deps, base_delay=1.0)
    await accept(deps.messages, tenant.id, sms(), clock.now())
    await dispatcher.run_once()
    fake.script(AmbiguousSend("timed out"))
    clock.advance(1)  # the sender's next slot
    twin = await accept(deps.messages, tenant.id, sms(), clock.now())
    assert await dispatcher.run_once() == [Outcome.RETRY]
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.SENT]
    assert len(fake.messages) == 2
    assert (await _stored(deps, twin)).provider_sid == fake.messages[1].sid


async def test_a_lost_lease_leaves_the_row_alone(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """An outcome learnt after the lease ran out is not recorded."""
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = _dispatcher(deps)
    (claimed,) = await dispatcher.claim(1)
    clock.advance(deps.settings.worker_lease_seconds + 1)
    assert await dispatcher.attempt(claimed) == Outcome.LEASE_LOST
    stored = await _stored(deps, message)
    assert (stored.status, stored.provider_sid) == (Status.ACCEPTED, None)


async def test_an_opt_out_that_arrived_while_waiting_refuses_the_message(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """The recheck fails a message whose recipient opted out meanwhile, with Twilio's 21610."""
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    await deps.opt_outs.set(
        tenant.id, Channel.SMS, "+31612345678", opted_out=True, source=OptOutSource.KEYWORD,
        now=clock.now(),
    )  # fmt: skip
    assert await _dispatcher(deps).run_once() == [Outcome.REFUSED]
    stored = await _stored(deps, message)
    assert (stored.status, stored.error_code) == (Status.FAILED, 21610)
    assert stored.error_message is not None
    assert stored.error_message.startswith("recipient_opted_out: ")
    assert fake.requests == []


async def test_a_closed_whatsapp_window_refuses_a_free_form_message(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A free-form WhatsApp message whose window closed while it waited fails with 63016."""
    customer, business = "whatsapp:+31612345678", "whatsapp:+14155550100"
    await deps.inbound.record_window(
        tenant.id, business=business, customer=customer, at=clock.now()
    )
    message = await accept(
        deps.messages,
        tenant.id,
        sms(channel=Channel.WHATSAPP, to=customer, from_=business, segments=None),
        clock.now() + timedelta(hours=23),
    )
    clock.advance(25 * 3600)
    assert await _dispatcher(deps).run_once() == [Outcome.REFUSED]
    assert (await _stored(deps, message)).error_code == 63016


async def test_an_open_whatsapp_window_lets_a_free_form_message_go(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Within 24 hours of the customer's last message a free-form WhatsApp message is sent."""
    customer, business = "whatsapp:+31612345678", "whatsapp:+14155550100"
    await deps.inbound.record_window(
        tenant.id, business=business, customer=customer, at=clock.now()
    )
    await accept(
        deps.messages,
        tenant.id,
        sms(channel=Channel.WHATSAPP, to=customer, from_=business, segments=None),
        clock.now(),
    )
    assert await _dispatcher(deps).run_once() == [Outcome.SENT]
    assert fake.requests[0].from_ == business
