"""Herald's worker: it sends the outbox, paces senders, and delivers events to applications.

    deps.py        WorkerDeps (everything the worker needs), Clock
    worker.py      Worker: runs the loops below, heartbeats and housekeeping until stopped
    dispatcher.py  Dispatcher: claims due messages and attempts each (attempt.py)
    attempt.py     MessageSender: look-up, recheck, rate limit, send, record; Outcome
    outgoing.py    the Twilio request of a stored message; the look-up before any resend
    ratelimit.py   RateLimiter (the port) and InProcessRateLimiter (GCRA per sender)
    providers.py   ProviderFactory: a TwilioClient per tenant from its stored credentials
    events.py      EventDelivery: signed webhooks to the applications' endpoints, retried
    reconcile.py   Reconciler: fetches messages stuck in a non-final status from Twilio
    pool.py        the claim / process / stop loop shared by the dispatcher and event delivery

docs/worker.md describes the dispatch loop, retries, the ambiguity rule and shutdown.
"""

from __future__ import annotations

from herald.worker.attempt import Outcome
from herald.worker.deps import Clock, WorkerDeps, new_worker_id
from herald.worker.dispatcher import Dispatcher
from herald.worker.events import EventDelivery
from herald.worker.providers import ProviderFactory, ProviderSource
from herald.worker.ratelimit import InProcessRateLimiter, RateLimiter
from herald.worker.reconcile import Reconciler, RoundCounts
from herald.worker.worker import Worker

__all__ = [
    "Clock",
    "Dispatcher",
    "EventDelivery",
    "InProcessRateLimiter",
    "Outcome",
    "ProviderFactory",
    "ProviderSource",
    "RateLimiter",
    "Reconciler",
    "RoundCounts",
    "Worker",
    "WorkerDeps",
    "new_worker_id",
]
