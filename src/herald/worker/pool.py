"""The loop both the dispatcher and event delivery run: claim due work, process it with
bounded concurrency, wait when there is none, and stop cleanly.

Work is claimed only when there is room for it, so nothing sits leased while it waits for a
free slot. When `stop` is set the loop claims nothing more, lets the work in flight finish for
`grace` seconds, then cancels what is left; each handler settles its own item on cancellation.
A failing claim (the database is away) is logged and tried again after a pause that grows up
to `MAX_ERROR_PAUSE`, so a worker outlives a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

T = TypeVar("T")

logger = logging.getLogger("herald.worker")

MAX_ERROR_PAUSE: Final = 30.0
# After the grace period, how long cancelled handlers get to settle their items.
SETTLE_SECONDS: Final = 5.0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))


async def run_pool(
    name: str,
    *,
    claim: Callable[[int], Awaitable[Sequence[T]]],
    handle: Callable[[T], Awaitable[Any]],
    label: Callable[[T], str],
    concurrency: int,
    batch_size: int,
    poll_seconds: float,
    stop: asyncio.Event,
    grace: float,
) -> None:
    """Claim up to `batch_size` items at a time and run `handle` on each until `stop` is set.

    `label` names an item in log lines (an id, never its content).
    """
    in_flight: set[asyncio.Task[Any]] = set()
    error_pause = poll_seconds
    try:
        while not stop.is_set():
            room = concurrency - len(in_flight)
            if room <= 0:
                await _wait_for_room(in_flight, stop)
                continue
            try:
                items = await claim(min(room, batch_size))
            except Exception:
                logger.exception("%s: claiming work failed; trying again", name)
                await wait_or_stop(stop, error_pause)
                error_pause = min(error_pause * 2 + 0.1, MAX_ERROR_PAUSE)
                continue
            error_pause = poll_seconds
            for item in items:
                task = asyncio.create_task(_guarded(name, handle, label, item))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if len(items) < min(room, batch_size):
                # Nothing more is due right now.
                await wait_or_stop(stop, poll_seconds)
            else:
                await asyncio.sleep(0)
    finally:
        await drain(in_flight, grace)


async def drain(tasks: set[asyncio.Task[Any]], grace: float) -> None:
    """Let `tasks` finish for `grace` seconds, then cancel the rest and let them settle."""
    if not tasks:
        return
    _, pending = await asyncio.wait(set(tasks), timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=SETTLE_SECONDS)


async def _wait_for_room(in_flight: set[asyncio.Task[Any]], stop: asyncio.Event) -> None:
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({*in_flight, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()


async def _guarded(
    name: str, handle: Callable[[T], Awaitable[Any]], label: Callable[[T], str], item: T
) -> Any:
    try:
        return await handle(item)
    except asyncio.CancelledError:
        raise
    except Exception:
        # A bug or a database failure: the item's lease expires and it is taken up again.
        logger.exception("%s: processing %s failed", name, label(item))
        return None
