"""Workers claim due messages under leases and record outcomes only while they hold them."""

from __future__ import annotations

import asyncio
from itertools import chain

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.records import HistorySource, Tenant
from herald.storage.events import EventRepository
from herald.storage.messages import MessageRepository
from herald.storage.outbox import Outbox
from tests.storage.storage_helpers import NOW, later, sms

LEASE = 30.0


async def _accept(engine: AsyncEngine, tenant: Tenant, count: int = 1) -> list[str]:
    repository = MessageRepository(engine)
    return [(await repository.accept(tenant.id, sms(), now=NOW)).message.id for _ in range(count)]


async def test_claim_leases_due_messages(engine: AsyncEngine, tenant: Tenant) -> None:
    """A claimed message carries the worker's lease and one counted attempt."""
    [message_id] = await _accept(engine, tenant)
    [claimed] = await Outbox(engine).claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert claimed.id == message_id
    assert claimed.lease_owner == "w1"
    assert claimed.lease_expires_at == later(LEASE)
    assert claimed.attempts == 1


async def test_claim_respects_the_limit(engine: AsyncEngine, tenant: Tenant) -> None:
    """No more than `limit` messages are claimed at once."""
    await _accept(engine, tenant, 5)
    assert len(await Outbox(engine).claim("w1", now=NOW, lease_seconds=LEASE, limit=3)) == 3


async def test_leased_message_is_not_claimed_again(engine: AsyncEngine, tenant: Tenant) -> None:
    """While a lease lasts, no other worker gets the message."""
    await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.claim("w2", now=later(LEASE - 1), lease_seconds=LEASE, limit=10) == []


async def test_scheduled_message_waits_for_its_time(engine: AsyncEngine, tenant: Tenant) -> None:
    """A scheduled message is not due before send_at, and is due from it."""
    await MessageRepository(engine).accept(tenant.id, sms(send_at=later(600)), now=NOW)
    outbox = Outbox(engine)
    assert await outbox.claim("w1", now=later(599), lease_seconds=LEASE, limit=10) == []
    assert len(await outbox.claim("w1", now=later(600), lease_seconds=LEASE, limit=10)) == 1


async def test_concurrent_claims_never_share_a_message(engine: AsyncEngine, tenant: Tenant) -> None:
    """Workers claiming at the same time on separate connections get disjoint messages."""
    ids = set(await _accept(engine, tenant, 40))
    outbox = Outbox(engine)
    batches = await asyncio.gather(
        *(outbox.claim(f"w{n}", now=NOW, lease_seconds=LEASE, limit=15) for n in range(4))
    )
    claimed = [each.id for each in chain.from_iterable(batches)]
    assert len(claimed) == len(set(claimed))
    rest = await outbox.claim("late", now=NOW, lease_seconds=LEASE, limit=100)
    assert sorted(claimed + [each.id for each in rest]) == sorted(ids)


async def test_expired_lease_makes_the_message_claimable(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Once a worker's lease expires, another worker claims the message, with a new attempt."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    [again] = await outbox.claim("w2", now=later(LEASE), lease_seconds=LEASE, limit=10)
    assert again.id == message_id
    assert again.lease_owner == "w2"
    assert again.attempts == 2


async def test_old_owner_cannot_record_after_losing_the_lease(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """The first worker's late mark_sent is refused and changes nothing."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    await outbox.claim("w2", now=later(LEASE + 1), lease_seconds=LEASE, limit=10)
    assert not await outbox.mark_sent(message_id, "w1", now=later(LEASE + 2), provider_sid="SM1")
    message = await MessageRepository(engine).get(tenant.id, message_id)
    assert message is not None
    assert message.provider_sid is None
    assert message.lease_owner == "w2"


async def test_expired_lease_refuses_even_its_owner(engine: AsyncEngine, tenant: Tenant) -> None:
    """A lease that has run out is no longer the worker's, even if nobody took it over."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert not await outbox.mark_sent(message_id, "w1", now=later(LEASE), provider_sid="SM1")


async def test_mark_sent_records_the_handover(engine: AsyncEngine, tenant: Tenant) -> None:
    """mark_sent stores the SID, moves the status, frees the lease and emits an event."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.mark_sent(
        message_id, "w1", now=later(1), provider_sid="SM1", provider_status="queued"
    )
    repository = MessageRepository(engine)
    message = await repository.get(tenant.id, message_id)
    assert message is not None
    assert (message.status, message.provider_sid, message.lease_owner) == (
        Status.QUEUED,
        "SM1",
        None,
    )
    assert message.next_attempt_at is None
    history = await repository.history(tenant.id, message_id)
    assert history is not None
    assert [(each.status, each.source) for each in history][-1] == (
        Status.QUEUED,
        HistorySource.WORKER,
    )
    events = await EventRepository(engine).list_after(tenant.id)
    assert events[-1].payload["status"] == "queued"
    assert events[-1].payload["previous_status"] == "accepted"


async def test_schedule_retry_makes_it_due_later(engine: AsyncEngine, tenant: Tenant) -> None:
    """A retried message keeps its status, records the error and is due at the given time."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.schedule_retry(
        message_id,
        "w1",
        now=later(1),
        next_attempt_at=later(60),
        error_code=20429,
        error_message="Too Many Requests",
    )
    assert await outbox.claim("w1", now=later(59), lease_seconds=LEASE, limit=10) == []
    [again] = await outbox.claim("w1", now=later(60), lease_seconds=LEASE, limit=10)
    assert (again.status, again.error_code, again.attempts) == (Status.ACCEPTED, 20429, 2)


async def test_mark_failed_is_final(engine: AsyncEngine, tenant: Tenant) -> None:
    """A failed message keeps Twilio's code and is never claimed again."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.mark_failed(
        message_id, "w1", now=later(1), error_code=21211, error_message="Invalid 'To' Phone Number"
    )
    message = await MessageRepository(engine).get(tenant.id, message_id)
    assert message is not None
    assert (message.status, message.error_code) == (Status.FAILED, 21211)
    assert await outbox.claim("w1", now=later(999), lease_seconds=LEASE, limit=10) == []


async def test_release_gives_back_the_attempt(engine: AsyncEngine, tenant: Tenant) -> None:
    """A released message is due again at the given time, without an attempt counted."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.release(message_id, "w1", now=later(1), next_attempt_at=later(2))
    [again] = await outbox.claim("w2", now=later(2), lease_seconds=LEASE, limit=10)
    assert again.attempts == 1


async def test_renew_extends_the_lease(engine: AsyncEngine, tenant: Tenant) -> None:
    """A renewed lease keeps other workers away past its first expiry."""
    [message_id] = await _accept(engine, tenant)
    outbox = Outbox(engine)
    await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=10)
    assert await outbox.renew(message_id, "w1", now=later(20), lease_seconds=LEASE)
    assert await outbox.claim("w2", now=later(LEASE + 1), lease_seconds=LEASE, limit=10) == []
    assert await outbox.mark_sent(message_id, "w1", now=later(LEASE + 2), provider_sid="SM1")


async def test_finishes_at_once_are_each_recorded_as_alone(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """Outcomes recorded at the same time share a transaction, yet each is checked and
    written as if alone: held messages move (sent, failed with the provider's code), an
    expired lease, a message never claimed and a second word on a message already finished
    are refused, and each recorded outcome has its history entry and event."""
    ids = await _accept(engine, tenant, 12)
    outbox = Outbox(engine)
    claimed = [m.id for m in await outbox.claim("w1", now=NOW, lease_seconds=LEASE, limit=11)]
    [unclaimed] = set(ids) - set(claimed)
    sent, failed, late = claimed[:5], claimed[5:10], claimed[10]
    answers = await asyncio.gather(
        *(
            outbox.mark_sent(message_id, "w1", now=later(2), provider_sid=f"SM{n}")
            for n, message_id in enumerate(sent)
        ),
        *(
            outbox.mark_failed(
                message_id, "w1", now=later(2), error_code=30008, error_message="Unknown error"
            )
            for message_id in failed
        ),
        outbox.mark_sent(sent[0], "w1", now=later(2), provider_sid="SM-again"),
        outbox.mark_sent(late, "w1", now=later(LEASE + 1), provider_sid="SM-late"),
        outbox.mark_sent(unclaimed, "w1", now=later(2), provider_sid="SM-unclaimed"),
    )
    assert answers == [True] * 10 + [False, False, False]
    repository = MessageRepository(engine)
    for n, message_id in enumerate(sent):
        message = await repository.get(tenant.id, message_id)
        assert message is not None
        assert (message.status, message.provider_sid, message.lease_owner) == (
            Status.QUEUED,
            f"SM{n}",
            None,
        )
    for message_id in failed:
        message = await repository.get(tenant.id, message_id)
        assert message is not None
        assert (message.status, message.error_code, message.next_attempt_at) == (
            Status.FAILED,
            30008,
            None,
        )
        history = await repository.history(tenant.id, message_id)
        assert history is not None
        assert (history[-1].status, history[-1].error_code, history[-1].source) == (
            Status.FAILED,
            30008,
            HistorySource.WORKER,
        )
    for message_id in (late, unclaimed):
        message = await repository.get(tenant.id, message_id)
        assert message is not None
        assert (message.status, message.provider_sid) == (Status.ACCEPTED, None)
    events = await EventRepository(engine).list_after(tenant.id, limit=100)
    moved = [event for event in events if event.payload["previous_status"] == "accepted"]
    assert sorted(event.payload["message_id"] for event in moved) == sorted(sent + failed)
