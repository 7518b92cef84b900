"""`GroupCommit`: concurrent writes share a batch, and a failed batch is written one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from herald.storage.group_commit import GroupCommit


class Recorder:
    """A writer that records each batch and single write; `refuse` makes an item fail."""

    def __init__(self, refuse: frozenset[int] = frozenset()) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.refuse = refuse
        self.gate = asyncio.Event()
        self.gate.set()

    async def flush(self, items: Sequence[int]) -> list[int]:
        await self.gate.wait()
        self.batches.append(list(items))
        if self.refuse & set(items):
            raise ValueError("a refused item fails its batch")
        return [item * 10 for item in items]

    async def single(self, item: int) -> int:
        self.singles.append(item)
        if item in self.refuse:
            raise ValueError(f"item {item} refused")
        return item * 10


async def test_a_lone_write_goes_at_once_as_a_batch_of_one() -> None:
    """With nothing else waiting, the write is committed at once, through `flush`."""
    recorder = Recorder()
    commit = GroupCommit(recorder.flush, recorder.single)
    assert await commit.submit(4) == 40
    assert recorder.batches == [[4]]
    assert recorder.singles == []


async def test_a_lone_write_that_fails_is_written_again_alone() -> None:
    """`single` gives a lone write the answer, or the error, of its own."""
    recorder = Recorder(refuse=frozenset({4}))
    commit = GroupCommit(recorder.flush, recorder.single)
    with pytest.raises(ValueError, match="item 4 refused"):
        await commit.submit(4)
    assert recorder.batches == [[4]]
    assert recorder.singles == [4]


async def test_writes_arriving_during_a_commit_share_the_next() -> None:
    """Writes submitted while a commit is under way go together, in order, each its result."""
    recorder = Recorder()
    commit = GroupCommit(recorder.flush, recorder.single)
    first = asyncio.create_task(commit.submit(1))
    second = asyncio.create_task(commit.submit(2))
    await asyncio.sleep(0)
    recorder.gate.clear()  # the batch [1, 2] is now committing, slowly
    await asyncio.sleep(0)
    rest = [asyncio.create_task(commit.submit(n)) for n in range(3, 8)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert await asyncio.gather(first, second, *rest) == [10, 20, 30, 40, 50, 60, 70]
    assert recorder.batches == [[1, 2], [3, 4, 5, 6, 7]]
    assert recorder.singles == []


async def test_a_write_submitted_in_the_same_pass_of_the_loop_joins_the_batch() -> None:
    """A task that was ready when the first write came submits before the batch is taken."""
    recorder = Recorder()
    commit = GroupCommit(recorder.flush, recorder.single)

    async def next_pass() -> int:
        await asyncio.sleep(0)
        return await commit.submit(2)

    first = asyncio.create_task(commit.submit(1))
    second = asyncio.create_task(next_pass())
    assert [await first, await second] == [10, 20]
    assert recorder.batches == [[1, 2]]


async def test_a_batch_is_never_larger_than_max_batch() -> None:
    """Twelve waiting writes with `max_batch=5` go as 5, 5 and 2."""
    recorder = Recorder()
    commit = GroupCommit(recorder.flush, recorder.single, max_batch=5)
    results = await asyncio.gather(*(commit.submit(n) for n in range(12)))
    assert results == [n * 10 for n in range(12)]
    assert [len(batch) for batch in recorder.batches] == [5, 5, 2]


async def test_a_failed_batch_is_written_again_one_by_one() -> None:
    """One bad item fails its batch; every item is then written alone, with its own answer."""
    recorder = Recorder(refuse=frozenset({2}))
    commit = GroupCommit(recorder.flush, recorder.single)
    results = await asyncio.gather(*(commit.submit(n) for n in (1, 2, 3)), return_exceptions=True)
    assert results[0] == 10
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "item 2 refused"
    assert results[2] == 30
    assert recorder.batches == [[1, 2, 3]]
    assert recorder.singles == [1, 2, 3]


async def test_a_cancelled_caller_does_not_cancel_its_write() -> None:
    """The caller may go away; the write it asked for still happens."""
    recorder = Recorder()
    recorder.gate.clear()
    commit = GroupCommit(recorder.flush, recorder.single)
    caller = asyncio.create_task(commit.submit(1))
    other = asyncio.create_task(commit.submit(2))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    recorder.gate.set()
    assert await other == 20
    assert recorder.batches == [[1, 2]]


def test_max_batch_must_be_positive() -> None:
    """A batch of nothing is refused when the writer is made."""
    recorder = Recorder()
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(recorder.flush, recorder.single, max_batch=0)
