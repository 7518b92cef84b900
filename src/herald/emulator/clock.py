"""Time as the emulator sees it: a `Clock` port with a real and a manual implementation.

Everything time-dependent in the emulator (dates in responses, delivery steps, scheduled sends,
code expiry) asks the clock, never `datetime.now()` or `asyncio.sleep()` directly, so that tests
can drive time with `ManualClock.advance()` instead of waiting.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_MANUAL_START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class Clock(Protocol):
    """A source of the current time and of waiting."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once this clock has reached `when` (at once if it already has)."""
        ...


class SystemClock:
    """The wall clock; waiting is real waiting."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait for `seconds` of real time."""
        await asyncio.sleep(max(seconds, 0.0))

    async def sleep_until(self, when: datetime) -> None:
        """Wait until the wall clock reaches `when`."""
        await self.sleep((when - self.now()).total_seconds())


class ManualClock:
    """A clock that moves only when told to; sleepers wake when `advance()` passes their time.

    `advance()` may be called from another thread than the event loop the sleepers run on (the
    tests drive a server running in a background thread), so wake-ups go through
    `call_soon_threadsafe`.
    """

    def __init__(self, start: datetime = DEFAULT_MANUAL_START) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time.")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._sleepers: list[tuple[datetime, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by `delta` (a timedelta or seconds) and wake the sleepers it passes."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("ManualClock cannot go backwards.")
        with self._lock:
            self._now += step
            now = self._now
            due = [sleeper for sleeper in self._sleepers if sleeper[0] <= now]
            self._sleepers = [sleeper for sleeper in self._sleepers if sleeper[0] > now]
        for _, loop, future in due:
            loop.call_soon_threadsafe(_resolve, future)
        return now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by `seconds`."""
        await self.sleep_until(self.now() + timedelta(seconds=max(seconds, 0.0)))

    async def sleep_until(self, when: datetime) -> None:
        """Wait until the clock has been advanced to `when`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if when <= self._now:
                return
            self._sleepers.append((when, loop, future))
        try:
            await future
        finally:
            with self._lock:
                self._sleepers = [s for s in self._sleepers if s[2] is not future]

    @property
    def pending(self) -> int:
        """How many sleepers are waiting for the clock to move."""
        with self._lock:
            return len(self._sleepers)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
