"""The emulator's event bus: what happened, in order, for whoever is listening.

Resource modules publish (`bus.publish("message.created", {...})`); any number of subscribers
read the events published after they subscribed. The bus knows nothing of its readers: the
control API streams it as Server-Sent Events, a test may read it directly.

Event types published by the emulator:

- `message.created` — a message was created (API, inbound, TwiML reply or opt-out auto-reply);
- `message.status` — a message changed status (`data.previous_status` says from what);
- `message.inbound` — a simulated phone sent a message to a bought number;
- `webhook.delivered` — one HTTP attempt at a webhook (status callback or inbound), as logged;
- `optout.changed` — a recipient opted out of, or back in to, a number or Messaging Service;
- `verify.code_sent` — Verify sent a code (by SMS, WhatsApp, call or e-mail);
- `verify.status` — a verification changed status (approved, canceled, expired, ...);
- `state.reset` — the emulator forgot everything.

Each subscriber has its own bounded queue: a reader that falls behind loses its oldest events
(and learns how many from `Subscription.dropped`), never slows the publisher down and never
makes the emulator's memory grow. Publishing may happen on any thread; reading happens on the
event loop that subscribed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

DEFAULT_QUEUE_SIZE: Final = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: a sequence number, a type, when, and JSON-ready details."""

    id: int
    type: str
    at: datetime
    data: Mapping[str, Any]


class Subscription:
    """One reader's view of the bus: the events published since it subscribed, oldest first."""

    def __init__(
        self, bus: EventBus, capacity: int, loop: asyncio.AbstractEventLoop, types: frozenset[str]
    ) -> None:
        self._bus = bus
        self._events: deque[Event] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._loop = loop
        self._ready = asyncio.Event()
        self._types = types
        self.dropped = 0
        """How many events were pushed out of the full queue before they were read."""
        self.closed = False

    def wants(self, event: Event) -> bool:
        """Whether this subscriber asked for events of this type (no filter: every type)."""
        return not self._types or event.type in self._types

    def offer(self, event: Event) -> None:
        """Queue `event` (dropping the oldest when full) and wake the reader."""
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:
            # The reader's loop has closed: nobody will read this subscription again.
            self.close()

    def pop(self) -> Event | None:
        """The oldest unread event, or None when none is waiting."""
        with self._lock:
            if self._events:
                return self._events.popleft()
            self._ready.clear()
            return None

    async def next(self) -> Event | None:
        """The next event, waiting for it (wrap in `asyncio.timeout` to bound the wait); None
        once the subscription is closed."""
        while not self.closed:
            event = self.pop()
            if event is not None:
                return event
            await self._ready.wait()
        return None

    def close(self) -> None:
        """Stop receiving events (a reader waiting on this loop wakes up with None)."""
        self.closed = True
        self._bus.unsubscribe(self)
        self._ready.set()


class EventBus:
    """A tiny in-memory pub/sub: `publish()` fans an event out to every live subscription."""

    def __init__(self, now: Callable[[], datetime], queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("An event queue holds at least one event.")
        self._now = now
        self._queue_size = queue_size
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    def subscribe(self, types: frozenset[str] = frozenset()) -> Subscription:
        """A new subscription to events of `types` (every type when empty), from now on.

        Must be called on the event loop that will read it.
        """
        subscription = Subscription(
            self, self._queue_size, asyncio.get_running_loop(), frozenset(types)
        )
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription (closing it does this)."""
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are live."""
        with self._lock:
            return len(self._subscriptions)

    def publish(self, type_: str, data: Mapping[str, Any]) -> Event:
        """Publish one event to every subscription that wants it; return it."""
        with self._lock:
            event = Event(id=next(self._ids), type=type_, at=self._now(), data=dict(data))
            targets = [each for each in self._subscriptions if each.wants(event)]
        for subscription in targets:
            subscription.offer(event)
        return event
