"""The clocks: the manual one moves only when told, and wakes exactly the sleepers it passes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from herald.emulator.clock import ManualClock, SystemClock


async def test_advance_wakes_only_due_sleepers() -> None:
    """Sleepers wake when advance() passes their time, not before."""
    clock = ManualClock()
    short = asyncio.create_task(clock.sleep(10))
    long = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0)
    clock.advance(timedelta(seconds=30))
    await asyncio.wait_for(short, timeout=1)
    assert not long.done()
    clock.advance(30)
    await asyncio.wait_for(long, timeout=1)
    assert clock.pending == 0


async def test_sleep_until_past_returns_at_once() -> None:
    """Sleeping until a time already reached does not wait."""
    clock = ManualClock()
    await asyncio.wait_for(clock.sleep_until(clock.now() - timedelta(seconds=1)), timeout=1)
    assert clock.pending == 0  # nothing was left waiting for the clock to move


def test_manual_clock_refuses_naive_start_and_going_back() -> None:
    """A manual clock needs an aware start and only moves forward."""
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2025, 1, 1))  # noqa: DTZ001 - the naive value is the point
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)


def test_system_clock_is_aware_utc() -> None:
    """The system clock answers UTC."""
    assert SystemClock().now().tzinfo is UTC
