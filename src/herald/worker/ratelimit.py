"""Per-sender pacing: the `RateLimiter` port and its in-process GCRA implementation.

Twilio sends from each sender at a fixed rate and queues the rest (docs/sending-rules.md, "Rate
limits"). Herald paces its own hand-overs to the same rates, so that a burst of 10,000 messages
to one long code drains at one message a second instead of filling Twilio's queue.

The worker never sleeps inside a claim to wait for a sender. It asks the limiter for a *slot*:
`acquire(sender, cost, key=message_id)` answers 0.0 when the message may go now, else the
number of seconds until its slot, and the worker gives the message back to the outbox until
then. The first call for a key reserves the sender's next free slot; later calls for the same
key answer from that reservation, so a deferred message keeps its place in line and a burst is
spread over consecutive slots instead of being retried all at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from herald.domain.ratelimit import default_burst, gcra, parse_sender_rates, sender_rate
from herald.domain.senders import Sender
from herald.settings import Settings

# A reservation whose slot passed this long ago was never used (its message was canceled, or
# taken over by another worker): forget it.
STALE_RESERVATION_SECONDS: Final = 300.0
_PRUNE_EVERY: Final = 1024
# Float rounding can leave a reserved slot a hair short of what `gcra` allows; a few rounds of
# adding the remainder always converge.
_SETTLE_ROUNDS: Final = 4


class RateLimiter(Protocol):
    """Paces hand-overs per sender. Implementations: `InProcessRateLimiter` (one process)."""

    async def acquire(self, sender: Sender, cost: float, *, key: str) -> float:
        """Seconds until `key` (a message costing `cost` segments) may go from `sender`.

        0.0 means now, and uses the slot. Otherwise the first call reserves the sender's next
        free slot for `key` and later calls answer from it, so the caller can put the message
        aside and ask again when the time has come.
        """
        ...

    async def probe(self) -> None:
        """Check that the limiter's shared state answers again after a fault (heartbeat)."""
        ...


@dataclasses.dataclass(slots=True)
class _Reservation:
    sender: str
    at: float


class InProcessRateLimiter:
    """The generic cell rate algorithm per sender, in this process's memory.

    Rates come from `herald.domain.ratelimit.sender_rate`: the `overrides` (parsed
    `HERALD_SENDER_RATES`) when they name the sender, else Twilio's default for its class; the
    burst is one second's worth. `clock` returns seconds (monotonic by default; tests pass a
    manual one). Several worker processes each keep their own state and together exceed the
    rate: they need a shared limiter.
    """

    def __init__(
        self,
        overrides: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._reservations: dict[str, _Reservation] = {}
        self._calls = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> InProcessRateLimiter:
        """A limiter with the rates of `HERALD_SENDER_RATES` (`ConfigurationError` if malformed)."""
        return cls(parse_sender_rates(settings.sender_rates), clock=clock)

    def rate(self, sender: Sender) -> float:
        """Segments per second Herald sends from `sender` at."""
        return sender_rate(sender, self._overrides)

    async def acquire(self, sender: Sender, cost: float, *, key: str) -> float:
        """Seconds until `key` may go from `sender` (0.0: now); see `RateLimiter.acquire`."""
        now = self._clock()
        self._prune(now)
        reserved = self._reservations.get(key)
        if reserved is not None and reserved.sender == sender.value:
            if reserved.at <= now:
                del self._reservations[key]
                return 0.0
            return reserved.at - now
        rate = self.rate(sender)
        burst = default_burst(rate)
        cost = max(cost, 1.0)
        tat = self._tat.get(sender.value, 0.0)
        step = gcra(tat, now, rate, burst, cost)
        if step.allowed:
            self._tat[sender.value] = step.tat
            return 0.0
        slot = now + step.retry_after
        for _ in range(_SETTLE_ROUNDS):
            at_slot = gcra(tat, slot, rate, burst, cost)
            if at_slot.allowed:
                self._tat[sender.value] = at_slot.tat
                break
            slot += at_slot.retry_after
        self._reservations[key] = _Reservation(sender.value, slot)
        return slot - now

    async def probe(self) -> None:
        """Nothing to check: this process's memory does not go away."""

    def _prune(self, now: float) -> None:
        self._calls += 1
        if self._calls % _PRUNE_EVERY:
            return
        horizon = now - STALE_RESERVATION_SECONDS
        stale = [key for key, each in self._reservations.items() if each.at < horizon]
        for key in stale:
            del self._reservations[key]
        idle = [sender for sender, tat in self._tat.items() if tat < horizon]
        for sender in idle:
            del self._tat[sender]
