"""A message adopted after a lost answer keeps the outcome Twilio already has, error included.

Found by the chaos scenario (tests/reliability/test_chaos.py): with the create's answer lost and
the look-up delayed, Twilio had already ended the message `undelivered` (30003) when Herald
adopted it, and Herald recorded `undelivered` without the error code; the late callback could
not add it, since the status no longer moved.
"""

from __future__ import annotations

from herald.domain.lifecycle import Status
from herald.domain.records import Tenant
from herald.providers import LOST_RESPONSE, RetryPolicy
from herald.worker import Dispatcher, Outcome, WorkerDeps
from tests.worker.worker_helpers import FlakyLookupTwilio, ManualClock, accept, sms


async def test_an_adopted_message_that_already_failed_keeps_twilio_s_error(
    deps: WorkerDeps, tenant: Tenant, fake: FlakyLookupTwilio, clock: ManualClock
) -> None:
    """Adopted as `undelivered`: the message carries Twilio's error code and message."""
    fake.script(LOST_RESPONSE)
    fake.listing_fails = True
    message = await accept(deps.messages, tenant.id, sms(), clock.now())
    dispatcher = Dispatcher(deps, retry=RetryPolicy(random=lambda: 0.5, base_delay=1.0))
    assert await dispatcher.run_once() == [Outcome.RETRY]
    fake.set_status(fake.messages[0].sid, "undelivered", error_code=30003, error_message="Gone")
    fake.listing_fails = False
    clock.advance(1)
    assert await dispatcher.run_once() == [Outcome.ADOPTED]
    stored = await deps.messages.get(tenant.id, message.id)
    assert stored is not None
    assert (stored.status, stored.error_code, stored.error_message) == (
        Status.UNDELIVERED,
        30003,
        "Gone",
    )
    history = await deps.messages.history(tenant.id, message.id)
    assert history is not None
    assert (history[-1].status, history[-1].error_code) == (Status.UNDELIVERED, 30003)
    assert len(fake.requests) == 1
