"""Per-sender pacing: the in-process limiter alone, and the dispatcher draining a burst."""

from __future__ import annotations

from datetime import timedelta

from herald.domain.records import Tenant
from herald.domain.senders import classify_sender
from herald.settings import Settings
from herald.worker import Dispatcher, InProcessRateLimiter, Outcome, WorkerDeps
from tests.worker.worker_helpers import FlakyLookupTwilio, ManualClock, accept, sms

LONG_CODE = classify_sender("+14155550100")  # 1 message a second
DUTCH_NUMBER = classify_sender("+3197010260000")  # 10 a second


async def test_an_idle_sender_may_send_at_once() -> None:
    """The first message of an idle sender goes now."""
    limiter = InProcessRateLimiter(clock=lambda: 100.0)
    assert await limiter.acquire(LONG_CODE, 1, key="m1") == 0.0


async def test_a_burst_is_given_consecutive_slots() -> None:
    """Messages over the rate get one slot each, a second apart at 1 MPS."""
    limiter = InProcessRateLimiter(clock=lambda: 100.0)
    waits = [await limiter.acquire(LONG_CODE, 1, key=f"m{i}") for i in range(5)]
    assert waits == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_asking_again_keeps_a_messages_place() -> None:
    """A deferred message asking again is told the time left until its own slot."""
    now = [100.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])
    await limiter.acquire(LONG_CODE, 1, key="first")
    assert await limiter.acquire(LONG_CODE, 1, key="second") == 1.0
    now[0] = 100.5
    assert await limiter.acquire(LONG_CODE, 1, key="second") == 0.5


async def test_a_message_goes_once_its_slot_has_come() -> None:
    """At its slot a deferred message may go, and the slot is used up."""
    now = [100.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])
    await limiter.acquire(LONG_CODE, 1, key="first")
    await limiter.acquire(LONG_CODE, 1, key="second")
    now[0] = 101.0
    assert await limiter.acquire(LONG_CODE, 1, key="second") == 0.0
    assert await limiter.acquire(LONG_CODE, 1, key="third") == 1.0


async def test_segments_count_against_the_rate() -> None:
    """A three-segment message keeps a 1 MPS sender busy for three seconds."""
    limiter = InProcessRateLimiter(clock=lambda: 100.0)
    await limiter.acquire(LONG_CODE, 3, key="long")
    assert await limiter.acquire(LONG_CODE, 1, key="next") == 3.0


async def test_configured_rates_override_the_defaults() -> None:
    """HERALD_SENDER_RATES sets a sender's rate."""
    settings = Settings(sender_rates="+14155550100=4")
    limiter = InProcessRateLimiter.from_settings(settings, clock=lambda: 100.0)
    waits = [await limiter.acquire(LONG_CODE, 1, key=f"m{i}") for i in range(6)]
    assert waits[4:] == [0.25, 0.5]


async def test_senders_are_paced_independently() -> None:
    """A busy sender does not hold back another."""
    limiter = InProcessRateLimiter(clock=lambda: 100.0)
    for i in range(3):
        await limiter.acquire(LONG_CODE, 1, key=f"m{i}")
    assert await limiter.acquire(DUTCH_NUMBER, 1, key="other") == 0.0


async def test_ten_thousand_messages_drain_at_the_senders_rate() -> None:
    """A burst of 10,000 to one long code is scheduled one a second, none refused."""
    limiter = InProcessRateLimiter(clock=lambda: 0.0)
    waits = [await limiter.acquire(LONG_CODE, 1, key=f"m{i}") for i in range(10_000)]
    assert waits == [float(i) for i in range(10_000)]


async def test_the_dispatcher_defers_a_burst_and_sends_it_at_the_rate(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Five messages to one 1 MPS sender are handed over one a second, each once."""
    start = clock.now()
    for i in range(5):
        await accept(deps.messages, tenant.id, sms(body=f"Update {i}"), start)
    dispatcher = Dispatcher(deps)
    sent_at = []
    for _ in range(5):
        outcomes = await dispatcher.run_once()
        sent_at += [clock.now()] * outcomes.count(Outcome.SENT)
        clock.advance(1)
    assert sent_at == [start + timedelta(seconds=i) for i in range(5)]
    assert sorted(m.body for m in fake.messages) == [f"Update {i}" for i in range(5)]


async def test_a_deferred_message_keeps_its_attempts(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Waiting for the sender's rate does not use up an attempt."""
    # Both are accepted in the same millisecond, so either may be the one that waits.
    first = await accept(deps.messages, tenant.id, sms(), clock.now())
    second = await accept(deps.messages, tenant.id, sms(body="Second"), clock.now())
    assert sorted(await Dispatcher(deps).run_once()) == [Outcome.DEFERRED, Outcome.SENT]
    stored = [await deps.messages.get(tenant.id, m.id) for m in (first, second)]
    waiting = [m for m in stored if m is not None and m.provider_sid is None]
    assert len(waiting) == 1
    assert (waiting[0].attempts, waiting[0].next_attempt_at) == (
        0,
        clock.now() + timedelta(seconds=1),
    )
