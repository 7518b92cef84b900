"""Times go in and come out as aware UTC datetimes on both backends; ids sort by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.storage.dialect import write_transaction
from herald.storage.schema import worker_heartbeats
from tests.storage.storage_helpers import NOW


async def test_times_come_back_aware_in_utc(engine: AsyncEngine) -> None:
    """A time written with another offset is read back as the same instant in UTC."""
    amsterdam = NOW.astimezone(timezone(timedelta(hours=1)))
    async with write_transaction(engine) as connection:
        await connection.execute(
            worker_heartbeats.insert().values(worker_id="w", seen_at=amsterdam)
        )
    async with engine.connect() as connection:
        seen = await connection.scalar(select(worker_heartbeats.c.seen_at))
    assert seen == NOW
    assert seen is not None
    assert seen.tzinfo is UTC


async def test_times_compare_as_instants(engine: AsyncEngine) -> None:
    """Comparisons in SQL order instants, whatever offset the values were given in."""
    async with write_transaction(engine) as connection:
        await connection.execute(worker_heartbeats.insert().values(worker_id="w", seen_at=NOW))
    earlier_elsewhere = (NOW - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=5)))
    async with engine.connect() as connection:
        found = await connection.scalar(
            select(worker_heartbeats.c.worker_id).where(
                worker_heartbeats.c.seen_at > earlier_elsewhere
            )
        )
    assert found == "w"


async def test_naive_times_are_refused(engine: AsyncEngine) -> None:
    """A datetime without a time zone is a programming error, refused before it is stored."""
    async with write_transaction(engine) as connection:
        with pytest.raises(StatementError, match="aware datetimes only"):
            await connection.execute(
                worker_heartbeats.insert().values(worker_id="w", seen_at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
            )
