"""Per-sender pacing shared by every worker process, through Redis.

`RedisRateLimiter` implements the `RateLimiter` protocol (herald.worker.ratelimit) with the
same slot reservations as `InProcessRateLimiter`, but keeps the state in Redis so that a
sender's rate holds across all the workers of a deployment:

- `herald:rl:tat:{sender}` holds the sender's theoretical arrival time (TAT), in seconds of
  Redis's own clock (`TIME`), so workers on different hosts agree on "now";
- `herald:rl:res:{message id}` holds the slot reserved for a deferred message.

One Lua script does each step atomically (Redis runs a script with no other command in
between), with the arithmetic of `herald.domain.ratelimit.gcra` written out the same way,
including its rearranged comparison. Both keys expire `STALE_RESERVATION_SECONDS` after their
time has passed, so an abandoned reservation or an idle sender costs nothing for long.

When Redis cannot be reached the limiter falls back to an `InProcessRateLimiter` (logged once
as a warning, and shown by `degraded` for `/readyz`) rather than stop sending; it goes back to
Redis as soon as a call succeeds again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Final, cast

import redis.asyncio
from redis.exceptions import RedisError

from herald.domain.ratelimit import default_burst, parse_sender_rates, sender_rate
from herald.domain.senders import Sender
from herald.settings import Settings
from herald.worker.ratelimit import STALE_RESERVATION_SECONDS, InProcessRateLimiter

logger = logging.getLogger("herald.worker.ratelimit")

KEY_PREFIX: Final = "herald:rl:"
# Seconds a Redis call may take before the limiter counts Redis as unreachable.
REDIS_TIMEOUT: Final = 2.0

# `herald.domain.ratelimit.gcra`, line for line (the same rearranged comparison). Both scripts
# below embed it, and a test checks it against the Python for random inputs.
_GCRA_LUA: Final = """
local function gcra(tat, now, rate, burst, cost)
  local interval = 1.0 / rate
  local start = math.max(tat, now)
  local backlog = start - now
  local slack = (math.max(burst, cost) - cost) * interval
  if backlog <= slack then
    return true, start + cost * interval, 0
  end
  return false, tat, backlog - slack
end
local function num(x)
  return string.format('%.17g', x)
end
"""

# KEYS[1] the sender's TAT, KEYS[2] the message's reservation.
# ARGV: rate, burst, cost, keep (seconds to keep state after its time), now (or "" for TIME).
# Returns the seconds until the message may go, as a string: a Lua number would reach the
# client truncated to an integer.
GCRA_SCRIPT: Final = (
    _GCRA_LUA
    + """
local now
if ARGV[5] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[5])
end
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local function store(key, value)
  redis.call('SET', key, num(value), 'PX', math.ceil((value - now + keep) * 1000))
end
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local at = tonumber(reserved)
  if at <= now then
    redis.call('DEL', KEYS[2])
    return '0'
  end
  return num(at - now)
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local allowed, new_tat, retry = gcra(tat, now, rate, burst, cost)
if allowed then
  store(KEYS[1], new_tat)
  return '0'
end
-- As in InProcessRateLimiter: reserve the first slot the algorithm allows, settling rounding.
local slot = now + retry
for _ = 1, 4 do
  local ok, at_tat, again = gcra(tat, slot, rate, burst, cost)
  if ok then
    store(KEYS[1], at_tat)
    break
  end
  slot = slot + again
end
store(KEYS[2], slot)
return num(slot - now)
"""
)

# One bare step. ARGV: tat, now, rate, burst, cost. Returns {allowed 1/0, tat, retry_after}.
GCRA_STEP_SCRIPT: Final = (
    _GCRA_LUA
    + """
local allowed, tat, retry = gcra(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
                                 tonumber(ARGV[4]), tonumber(ARGV[5]))
return {allowed and '1' or '0', num(tat), num(retry)}
"""
)


class RedisRateLimiter:
    """GCRA per sender in Redis, global across workers; in-process when Redis is down.

    `clock`, when given, supplies "now" in seconds instead of Redis's `TIME` (tests); every
    limiter sharing a Redis must then share the clock.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        overrides: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._client = client
        self._overrides = dict(overrides or {})
        self._clock = clock
        self._script = client.register_script(GCRA_SCRIPT)
        self._fallback = InProcessRateLimiter(self._overrides, clock=clock or time.monotonic)
        self._warned = False
        self.degraded: str | None = None
        """Why the limiter is pacing in-process only right now, or None while Redis answers."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] | None = None
    ) -> RedisRateLimiter:
        """A limiter on `HERALD_REDIS_URL` with the rates of `HERALD_SENDER_RATES`."""
        client = redis.asyncio.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
        )
        return cls(client, parse_sender_rates(settings.sender_rates), clock=clock)

    def rate(self, sender: Sender) -> float:
        """Segments per second Herald sends from `sender` at."""
        return sender_rate(sender, self._overrides)

    async def acquire(self, sender: Sender, cost: float, *, key: str) -> float:
        """Seconds until `key` may go from `sender` (0.0: now); see `RateLimiter.acquire`."""
        rate = self.rate(sender)
        cost = max(cost, 1.0)
        now = "" if self._clock is None else repr(self._clock())
        try:
            answer = await self._script(
                keys=[f"{KEY_PREFIX}tat:{sender.value}", f"{KEY_PREFIX}res:{key}"],
                args=[
                    repr(rate),
                    repr(default_burst(rate)),
                    repr(cost),
                    repr(STALE_RESERVATION_SECONDS),
                    now,
                ],
            )
        except (RedisError, OSError) as exc:
            return await self._degrade(exc, sender, cost, key)
        self._recovered()
        return max(0.0, float(cast("bytes", answer)))

    async def probe(self) -> None:
        """While degraded, ask Redis whether it answers again, so that recovery is noticed (and
        logged) by a worker that has nothing to send; the worker's heartbeat calls this."""
        if self.degraded is None:
            return
        try:
            await self._client.ping()
            # The pool's idle connections were opened before Redis went away: each would fail
            # once more and report the outage again. Close them; the next calls reconnect.
            await self._client.connection_pool.disconnect(inuse_connections=False)
        except (RedisError, OSError):
            return
        self._recovered()

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()

    def _recovered(self) -> None:
        if self.degraded is not None:
            logger.warning("Redis answers again: per-sender rate limits are global again")
            self.degraded = None
            self._warned = False

    async def _degrade(self, exc: Exception, sender: Sender, cost: float, key: str) -> float:
        self.degraded = f"Redis is unreachable ({exc}); rate limits hold per worker only"
        if not self._warned:
            self._warned = True
            logger.warning("%s", self.degraded)
        return await self._fallback.acquire(sender, cost, key=key)
