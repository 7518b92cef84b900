"""The long-running commands' event loop and heap."""

from __future__ import annotations

import gc

import pytest

from herald.cli.eventloop import frozen_heap


class _Node:
    """An object that can be part of a reference cycle."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_heap_is_frozen_while_serving_and_handed_back_after() -> None:
    """Inside the block the objects of start-up are out of the collector's sight, and cycles
    made while serving are still collected; after it, nothing stays frozen."""
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        del first, second
        assert gc.collect() >= 2
    assert gc.get_freeze_count() == 0


def test_the_heap_is_handed_back_when_the_block_fails() -> None:
    """An error while serving leaves nothing frozen."""
    with pytest.raises(RuntimeError, match="stopped"), frozen_heap():
        raise RuntimeError("stopped")
    assert gc.get_freeze_count() == 0
