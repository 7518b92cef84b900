"""Public ids: their time part, their random part, and no repeats across a fork."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from herald.storage.ids import MESSAGE, new_id

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NOW = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)


def _decoded(identifier: str) -> int:
    value = 0
    for char in identifier.split("_", 1)[1]:
        value = value * 32 + ALPHABET.index(char)
    return value


def test_an_id_carries_its_milliseconds_then_80_random_bits() -> None:
    """Decoded from Crockford's Base32, the first 48 bits are the time in milliseconds."""
    identifier = new_id(MESSAGE, NOW)
    assert identifier.startswith("msg_")
    assert len(identifier) == len("msg_") + 26
    value = _decoded(identifier)
    assert value >> 80 == int(NOW.timestamp() * 1000)
    assert value < 1 << 128


def test_ids_made_at_once_differ_in_their_random_part() -> None:
    """Ten thousand ids in one millisecond (more than one read of random bytes): no repeats,
    and their random parts spread over the whole 80 bits."""
    made = [new_id(MESSAGE, NOW) for _ in range(10_000)]
    assert len(set(made)) == len(made)
    randoms = [_decoded(each) & ((1 << 80) - 1) for each in made]
    assert max(randoms) > 1 << 79 > min(randoms)


def test_ids_sort_by_time() -> None:
    """An id made later sorts after one made earlier, as text."""
    assert new_id(MESSAGE, NOW) < new_id(MESSAGE, NOW + timedelta(milliseconds=1))


def test_a_forked_child_does_not_repeat_its_parent_ids() -> None:
    """`herald serve --processes` forks: the child reads random bytes of its own."""
    new_id(MESSAGE, NOW)  # the parent has random bytes in hand
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writing, new_id(MESSAGE, NOW).encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        from_child = pipe.read().decode()
    os.waitpid(child, 0)
    assert from_child.startswith("msg_")
    assert from_child != new_id(MESSAGE, NOW)
