"""Worker heartbeats: `/readyz` reports not ready when no worker has beaten recently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Heartbeat
from herald.storage.dialect import upsert, write_transaction
from herald.storage.schema import worker_heartbeats


class Heartbeats:
    """Records and reads workers' signs of life."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def beat(self, worker_id: str, *, now: datetime) -> None:
        """Record that `worker_id` is alive at `now`."""
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                upsert(
                    connection,
                    worker_heartbeats,
                    {"worker_id": worker_id, "seen_at": now},
                    key=["worker_id"],
                )
            )

    async def latest(self) -> Heartbeat | None:
        """The most recent heartbeat of any worker, or None if no worker ever beat."""
        query = select(worker_heartbeats).order_by(worker_heartbeats.c.seen_at.desc()).limit(1)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else Heartbeat(worker_id=row.worker_id, seen_at=row.seen_at)

    async def prune(self, *, before: datetime) -> int:
        """Forget workers not seen since `before` (workers get new ids when they restart)."""
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                delete(worker_heartbeats).where(worker_heartbeats.c.seen_at < before)
            )
            return result.rowcount
