"""Reconciliation against the fake Twilio, on SQLite and PostgreSQL: messages whose status
callback never came are fetched and moved on, forwards only, without asking Twilio too often."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.records import HistorySource, MessageRecord, Tenant
from herald.errors import ConfigurationError, ProviderUnavailable
from herald.providers import FakeTwilio, ProviderMessage
from herald.settings import Settings
from herald.storage.events import EventRepository
from herald.storage.reconcile import HORIZON
from herald.worker import Dispatcher, Reconciler, WorkerDeps
from tests.worker.worker_helpers import FlakyLookupTwilio, ManualClock, OneProvider, accept, sms

AFTER = 600.0


def _reconciler(deps: WorkerDeps, after: float = AFTER) -> Reconciler:
    settings = dataclasses.replace(deps.settings, reconcile_after_seconds=after)
    return Reconciler(dataclasses.replace(deps, settings=settings))


async def _handed_over(deps: WorkerDeps, tenant: Tenant, clock: ManualClock) -> MessageRecord:
    """A message the dispatcher has sent: `queued`, with Twilio's SID, no callback yet."""
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    await Dispatcher(deps).run_once()
    stored = await deps.messages.get(tenant.id, message.id)
    assert stored is not None
    assert stored.status is Status.QUEUED
    assert stored.provider_sid is not None
    return stored


async def _stored(deps: WorkerDeps, message: MessageRecord) -> MessageRecord:
    found = await deps.messages.get(message.tenant_id, message.id)
    assert found is not None
    return found


class CountingTwilio(FlakyLookupTwilio):
    """Counts fetches, and fails them like an unreachable Twilio while `fetch_fails` is set."""

    fetches = 0
    fetch_fails = False

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """Count the fetch, then fail or answer as the fake does."""
        self.fetches += 1
        if self.fetch_fails:
            raise ProviderUnavailable(f"Fetching message {sid}: connection refused")
        return await super().fetch_message(sid)


@pytest.fixture
def counting(clock: ManualClock) -> CountingTwilio:
    """A counting fake Twilio."""
    return CountingTwilio(clock=clock.now)


@pytest.fixture
def counted_deps(deps: WorkerDeps, counting: CountingTwilio) -> WorkerDeps:
    """The worker's dependencies on the counting fake."""
    return dataclasses.replace(deps, providers=OneProvider(counting))


async def test_a_message_whose_callback_never_came_is_delivered_by_reconciliation(
    deps: WorkerDeps,
    engine: AsyncEngine,
    tenant: Tenant,
    fake: FlakyLookupTwilio,
    clock: ManualClock,
) -> None:
    """After the interval, Twilio's `delivered` is applied with the source `reconcile`."""
    message = await _handed_over(deps, tenant, clock)
    assert message.provider_sid is not None
    fake.set_status(message.provider_sid, "delivered")
    reconciler = _reconciler(deps)
    clock.advance(AFTER - 1)
    assert (await reconciler.run_once()).claimed == 0
    clock.advance(1)
    counts = await reconciler.run_once()
    assert (counts.claimed, counts.advanced) == (1, 1)
    assert (await _stored(deps, message)).status is Status.DELIVERED
    history = await deps.messages.history(tenant.id, message.id)
    assert history is not None
    last = history[-1]
    assert (last.status, last.source, last.applied) == (
        Status.DELIVERED,
        HistorySource.RECONCILE,
        True,
    )
    assert last.provider_status == "delivered"
    events = await EventRepository(engine).list_after(tenant.id)
    assert (events[-1].payload["status"], events[-1].payload["final"]) == (
        "delivered",
        True,
    )
    clock.advance(AFTER * 10)
    assert (await reconciler.run_once()).claimed == 0


async def test_an_undelivered_message_gets_twilio_s_error(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """A final `undelivered` carries Twilio's error code and message onto the message."""
    message = await _handed_over(deps, tenant, clock)
    assert message.provider_sid is not None
    fake.set_status(
        message.provider_sid, "undelivered", error_code=30003, error_message="Unreachable"
    )
    clock.advance(AFTER)
    await _reconciler(deps).run_once()
    stored = await _stored(deps, message)
    assert (stored.status, stored.error_code, stored.error_message) == (
        Status.UNDELIVERED,
        30003,
        "Unreachable",
    )


async def test_a_stale_answer_never_moves_a_status_backwards(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Herald has `sent` from a callback; Twilio's older `queued` is kept in the history only."""
    message = await _handed_over(deps, tenant, clock)
    await deps.reports.apply_report(
        reported=Status.SENT,
        occurred_at=clock.now(),
        now=clock.now(),
        source=HistorySource.CALLBACK,
        message_id=message.id,
    )
    clock.advance(AFTER)
    counts = await _reconciler(deps).run_once()
    assert (counts.claimed, counts.unchanged) == (1, 1)
    assert (await _stored(deps, message)).status is Status.SENT
    history = await deps.messages.history(tenant.id, message.id)
    assert history is not None
    assert (history[-1].status, history[-1].applied) == (Status.QUEUED, False)


async def test_final_messages_and_messages_never_handed_over_are_left_alone(
    counted_deps: WorkerDeps, tenant: Tenant, counting: CountingTwilio, clock: ManualClock
) -> None:
    """Only non-final messages with a provider SID are fetched."""
    deps = counted_deps
    delivered = await _handed_over(deps, tenant, clock)
    await deps.reports.apply_report(
        reported=Status.DELIVERED,
        occurred_at=clock.now(),
        now=clock.now(),
        source=HistorySource.CALLBACK,
        message_id=delivered.id,
    )
    waiting = await accept(deps.messages, tenant.id, sms(), clock.now() + timedelta(days=1))
    clock.advance(AFTER * 3)
    assert (await _reconciler(deps).run_once()).claimed == 0
    assert counting.fetches == 0
    assert (await _stored(deps, waiting)).status is Status.ACCEPTED


async def test_a_message_is_not_asked_about_again_before_its_back_off(
    counted_deps: WorkerDeps, tenant: Tenant, counting: CountingTwilio, clock: ManualClock
) -> None:
    """A message Twilio keeps `sent` is asked about at 1, 2, 4, 8 intervals after it moved."""
    deps = counted_deps
    message = await _handed_over(deps, tenant, clock)
    assert message.provider_sid is not None
    counting.set_status(message.provider_sid, "sent")
    reconciler = _reconciler(deps)
    clock.advance(AFTER)
    assert (await reconciler.run_once()).advanced == 1  # queued -> sent, now stuck in sent
    moved = clock.now()
    checks: list[float] = []
    while clock.now() < moved + timedelta(seconds=AFTER * 20):
        clock.advance(AFTER / 4)
        if (await reconciler.run_once()).claimed:
            checks.append((clock.now() - moved).total_seconds() / AFTER)
    assert checks == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert counting.fetches == 1 + len(checks)
    last, following = await deps.reconciliations.check_times(message.id)
    assert last == moved + timedelta(seconds=AFTER * 16)
    assert following == moved + timedelta(seconds=AFTER * 32)


async def test_messages_stuck_beyond_the_horizon_are_no_longer_asked_about(
    counted_deps: WorkerDeps, tenant: Tenant, counting: CountingTwilio, clock: ManualClock
) -> None:
    """Three days without a status change: the carrier sends no receipt; Herald stops asking."""
    deps = counted_deps
    await _handed_over(deps, tenant, clock)
    clock.advance(HORIZON.total_seconds())
    assert (await _reconciler(deps).run_once()).claimed == 0
    assert counting.fetches == 0


async def test_a_message_twilio_does_not_know_keeps_its_status_and_says_so(
    deps: WorkerDeps, tenant: Tenant, clock: ManualClock
) -> None:
    """A 404 invents no status: the history records it, not applied, and it is asked again."""
    message = await _handed_over(deps, tenant, clock)
    other_account = dataclasses.replace(deps, providers=OneProvider(FakeTwilio()))
    reconciler = _reconciler(other_account)
    clock.advance(AFTER)
    counts = await reconciler.run_once()
    assert (counts.claimed, counts.missing) == (1, 1)
    stored = await _stored(deps, message)
    assert (stored.status, stored.error_code) == (Status.QUEUED, None)
    history = await deps.messages.history(tenant.id, message.id)
    assert history is not None
    last = history[-1]
    assert (last.status, last.applied, last.error_code, last.source) == (
        Status.QUEUED,
        False,
        20404,
        HistorySource.RECONCILE,
    )
    assert last.error_message is not None
    assert message.provider_sid is not None
    assert message.provider_sid in last.error_message
    assert message.to not in last.error_message
    clock.advance(AFTER)
    assert (await reconciler.run_once()).claimed == 1


async def test_an_unreachable_twilio_changes_nothing_and_is_asked_again_later(
    counted_deps: WorkerDeps, tenant: Tenant, counting: CountingTwilio, clock: ManualClock
) -> None:
    """A failed fetch is counted as an error; the message is checked on the next back-off."""
    deps = counted_deps
    message = await _handed_over(deps, tenant, clock)
    assert message.provider_sid is not None
    counting.set_status(message.provider_sid, "delivered")
    counting.fetch_fails = True
    reconciler = _reconciler(deps)
    clock.advance(AFTER)
    counts = await reconciler.run_once()
    assert (counts.claimed, counts.errors) == (1, 1)
    assert (await _stored(deps, message)).status is Status.QUEUED
    counting.fetch_fails = False
    clock.advance(AFTER)
    assert (await reconciler.run_once()).advanced == 1
    assert (await _stored(deps, message)).status is Status.DELIVERED


async def test_two_workers_never_reconcile_the_same_message(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Concurrent claims split the stuck messages between them, none claimed twice."""
    for index in range(30):
        await accept(deps.messages, tenant.id, sms(body=f"Parcel {index}"), clock.now())
    dispatcher = Dispatcher(deps)
    while await dispatcher.run_once():
        clock.advance(1)
    assert len(fake.messages) == 30
    clock.advance(AFTER)
    after = timedelta(seconds=AFTER)
    claims = await asyncio.gather(
        *(deps.reconciliations.claim(now=clock.now(), after=after, limit=12) for _ in range(3))
    )
    ids = [message.id for claim in claims for message in claim]
    assert len(ids) == 30
    assert len(set(ids)) == 30


async def test_reconciliation_is_off_at_zero(
    counted_deps: WorkerDeps, tenant: Tenant, counting: CountingTwilio, clock: ManualClock
) -> None:
    """HERALD_RECONCILE_AFTER_SECONDS=0: nothing is claimed or fetched, and run returns."""
    deps = counted_deps
    await _handed_over(deps, tenant, clock)
    clock.advance(AFTER * 10)
    reconciler = _reconciler(deps, after=0)
    assert not reconciler.enabled
    assert (await reconciler.run_once()).claimed == 0
    await asyncio.wait_for(reconciler.run(asyncio.Event()), timeout=1)
    assert counting.fetches == 0


def test_a_negative_interval_is_refused() -> None:
    """A negative interval or an empty batch stops Herald at start-up, naming the variable."""
    with pytest.raises(ConfigurationError, match="HERALD_RECONCILE_AFTER_SECONDS"):
        Settings.from_env({"HERALD_RECONCILE_AFTER_SECONDS": "-1"})
    with pytest.raises(ConfigurationError, match="HERALD_RECONCILE_BATCH_SIZE"):
        Settings.from_env({"HERALD_RECONCILE_BATCH_SIZE": "0"})


class HangingTwilio(FlakyLookupTwilio):
    """A Twilio whose message fetches never answer; `asked` is set by the first."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.asked = asyncio.Event()

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """Wait forever."""
        del sid
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_stopping_does_not_wait_for_a_hanging_twilio(
    deps: WorkerDeps, tenant: Tenant, clock: ManualClock
) -> None:
    """A round stuck on Twilio is cancelled at stop; its message is checked an interval later."""
    message = await _handed_over(deps, tenant, clock)
    twilio = HangingTwilio(clock=clock.now)
    hanging = dataclasses.replace(deps, providers=OneProvider(twilio))
    clock.advance(AFTER)
    stop = asyncio.Event()
    running = asyncio.create_task(_reconciler(hanging).run(stop))
    await asyncio.wait_for(twilio.asked.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert (await _stored(deps, message)).status is Status.QUEUED
    assert (await deps.reconciliations.check_times(message.id))[1] == clock.now() + timedelta(
        seconds=AFTER
    )


class BrokenTwilio(FlakyLookupTwilio):
    """A Twilio client that fails with an unexpected error for one SID."""

    broken_sid = ""

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """Fail for `broken_sid`, answer for the others."""
        if sid == self.broken_sid:
            raise RuntimeError("unexpected")
        return await super().fetch_message(sid)


async def test_an_unexpected_failure_spoils_only_its_own_check(
    deps: WorkerDeps, tenant: Tenant, clock: ManualClock
) -> None:
    """One check failing in an unforeseen way is counted as an error; the others go on."""
    twilio = BrokenTwilio(clock=clock.now)
    deps = dataclasses.replace(deps, providers=OneProvider(twilio))
    first = await _handed_over(deps, tenant, clock)
    clock.advance(1)
    second = await _handed_over(deps, tenant, clock)
    assert first.provider_sid is not None
    assert second.provider_sid is not None
    twilio.broken_sid = first.provider_sid
    twilio.set_status(second.provider_sid, "delivered")
    clock.advance(AFTER)
    counts = await _reconciler(deps).run_once()
    assert (counts.claimed, counts.errors, counts.advanced) == (2, 1, 1)
    assert (await _stored(deps, first)).status is Status.QUEUED
    assert (await _stored(deps, second)).status is Status.DELIVERED
