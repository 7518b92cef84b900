"""Fixed-window counters for the verification throttles: in the database, or in Redis.

`hit(key, rule, now)` counts one start against `key` and answers None when the start is
allowed, or the seconds until the window ends when it is not. A refused start is counted too,
so a script hammering a range stays refused until it pauses for a whole window.

The database counter locks its row for the read-modify-write; a first hit that races another
first hit meets the primary key, and counts again on the row the winner inserted. With
`HERALD_REDIS_URL` set, Redis's `INCR` and `PEXPIRE` keep the counters for every process.
When Redis does not answer, `RedisThrottle` counts in its fallback (the database counter, as
shared by every process as Redis is), logs one warning and says so in `degraded`; it goes back
to Redis as soon as Redis answers. A verification start is never refused with a 500 because
Redis is away.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Protocol

import redis.asyncio
from redis.exceptions import RedisError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.otp import ThrottleRule
from herald.storage.dialect import write_transaction
from herald.storage.schema import verification_throttles

logger = logging.getLogger("herald.storage.throttles")


class Throttle(Protocol):
    """Counts starts per key in fixed windows."""

    async def hit(self, key: str, rule: ThrottleRule, now: datetime) -> float | None:
        """Count one start; None if allowed, else the seconds until it would be."""
        ...


class DatabaseThrottle:
    """Throttle counters in the `verification_throttles` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def hit(self, key: str, rule: ThrottleRule, now: datetime) -> float | None:
        """Count one start; None if allowed, else the seconds until it would be."""
        try:
            return await self._hit(key, rule, now)
        except IntegrityError:
            return await self._hit(key, rule, now)

    async def _hit(self, key: str, rule: ThrottleRule, now: datetime) -> float | None:
        t = verification_throttles.c
        async with write_transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    select(t.window_started_at, t.count.label("hits"))
                    .where(t.key == key)
                    .with_for_update()
                )
            ).first()
            if row is None:
                await connection.execute(
                    insert(verification_throttles).values(key=key, window_started_at=now, count=1)
                )
                return None
            started: datetime = row.window_started_at
            count: int = row.hits + 1
            if now >= started + rule.window:
                started, count = now, 1
            await connection.execute(
                update(verification_throttles)
                .where(t.key == key)
                .values(window_started_at=started, count=count)
            )
        if count <= rule.limit:
            return None
        return float(max(1, math.ceil((started + rule.window - now).total_seconds())))


class RedisThrottle:
    """Throttle counters in Redis, shared by every Herald process using the same server.

    With a `fallback`, a hit Redis cannot count (unreachable, timed out) is counted there
    instead; without one the Redis error propagates.
    """

    def __init__(self, client: redis.asyncio.Redis, *, fallback: Throttle | None = None) -> None:
        self._client = client
        self._fallback = fallback
        self.degraded: str | None = None
        """Why hits are counted in the fallback right now, or None while Redis answers."""

    async def hit(self, key: str, rule: ThrottleRule, now: datetime) -> float | None:
        """Count one start; None if allowed, else the seconds until it would be."""
        if self._fallback is None:
            return await self._hit(key, rule)
        try:
            wait = await self._hit(key, rule)
        except (RedisError, OSError) as exc:
            if self.degraded is None:
                logger.warning(
                    "Redis is unreachable (%s); verification throttles count in the database", exc
                )
            self.degraded = f"Redis is unreachable ({exc})"
            return await self._fallback.hit(key, rule, now)
        if self.degraded is not None:
            # The pool's idle connections were opened before Redis went away: each would fail
            # once more and report the outage again. Close them; the next hits reconnect.
            await self._client.connection_pool.disconnect(inuse_connections=False)
            logger.warning("Redis answers again: verification throttles count in Redis again")
            self.degraded = None
        return wait

    async def _hit(self, key: str, rule: ThrottleRule) -> float | None:
        window_ms = int(rule.window.total_seconds() * 1000)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            # NX: only the first hit of a window starts its clock.
            pipe.pexpire(key, window_ms, nx=True)
            pipe.pttl(key)
            count, _, ttl_ms = await pipe.execute()
        if int(count) <= rule.limit:
            return None
        return float(max(1, math.ceil(max(int(ttl_ms), 0) / 1000)))
