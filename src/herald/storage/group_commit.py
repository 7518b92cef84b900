"""Group commit: concurrent writes of one kind share a transaction.

A commit costs a round trip to the database and a flush of its log, whatever it carries; under
load, most of the time of a write of one row is its commit. `GroupCommit` lets the writes that
arrive while one transaction is committing wait for it to finish and then go together in the
next one: nothing waits for a timer, so a lone write is committed at once, and under load a
batch holds whatever arrived during the previous commit (up to `max_batch`). Before taking a
batch, the runner lets every task that is ready run once (one pass of the event loop), so that
requests already read but not yet submitted join it: larger batches, fewer commits.

`flush(items)` writes a batch (of one item, too) in one transaction and returns one result per
item, in order. If it raises, nothing of the batch was committed, and every item of it is
written again on its own by `single(item)`, so that each caller gets the answer (or the error)
its own write would have had: a batch is never more than an optimisation, and `flush` may take
the shortest way, leaving every refusal and error to `single`.

One background task per `GroupCommit` runs the batches and ends when none is waiting. It runs
in a context of its own, not in that of whichever caller started it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH: Final = 64

_log = logging.getLogger(__name__)


class GroupCommit(Generic[Item, Result]):
    """Writes `Item`s in shared transactions (`flush`), each alone (`single`) on a failure."""

    def __init__(
        self,
        flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        single: Callable[[Item], Awaitable[Result]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; got {max_batch}.")
        self._flush = flush
        self._single = single
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Write `item` with whatever else is waiting; its result once committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), context=contextvars.Context())
        # A cancelled caller cancels only its future: the write is the runner's, and goes on
        # (it may already be committing); a cancelled future is then left unanswered.
        return await future

    async def _run(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                await asyncio.sleep(0)  # one pass of the loop: what is ready joins the batch
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._write(batch)
        except BaseException:
            # Cancelled (the event loop is closing): no caller may wait for ever.
            for _, future in [*batch, *self._waiting]:
                future.cancel()
            self._waiting.clear()
            raise

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = await self._flush(items)
        except Exception as exc:  # noqa: BLE001 - each item is retried alone, and reports its own
            _log.debug("a batch of %d failed (%s); writing each alone", len(batch), exc)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)
            return
        for item, future in batch:
            try:
                result = await self._single(item)
            except Exception as exc:  # noqa: BLE001 - handed to the caller that submitted it
                if not future.done():
                    future.set_exception(exc)
            else:
                _settle(future, result)


def _settle(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():
        future.set_result(result)
