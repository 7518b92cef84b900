"""The Redis rate limiter on a real Redis: shared pacing, the GCRA bound, and the Lua arithmetic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herald.domain.ratelimit import default_burst, gcra
from herald.domain.senders import classify_sender
from herald.settings import Settings
from herald.worker.redis_ratelimit import GCRA_STEP_SCRIPT, RedisRateLimiter
from tests.reliability.servers import private_redis

pytestmark = pytest.mark.redis

LONG_CODE = classify_sender("+14155550100")  # 1 message a second
DUTCH_NUMBER = classify_sender("+3197010260000")  # 10 a second


class Clock:
    """A manual clock in seconds, shared by the limiters of one test."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A client on the test's Redis database."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_two_workers_share_one_senders_rate(redis_url: str) -> None:
    """Two limiters on one Redis hand out consecutive slots of one sender, not a slot each."""
    clock = Clock()
    first = RedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), clock=clock)
    second = RedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), clock=clock)
    try:
        waits = [
            await (first if i % 2 == 0 else second).acquire(LONG_CODE, 1, key=f"m{i}")
            for i in range(6)
        ]
    finally:
        await first.close()
        await second.close()
    assert waits == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


async def test_a_reserved_slot_is_kept_across_workers(redis_url: str) -> None:
    """A message deferred by one worker keeps its slot when another worker asks for it."""
    clock = Clock()
    first = RedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), clock=clock)
    second = RedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), clock=clock)
    try:
        await first.acquire(LONG_CODE, 1, key="a")
        assert await first.acquire(LONG_CODE, 1, key="b") == 1.0
        clock.value += 0.25
        assert await second.acquire(LONG_CODE, 1, key="b") == 0.75
        clock.value += 0.75
        assert await second.acquire(LONG_CODE, 1, key="b") == 0.0
    finally:
        await first.close()
        await second.close()


async def test_redis_time_paces_without_a_clock(redis_url: str) -> None:
    """Without a test clock, Redis's own TIME paces a burst a slot apart."""
    limiter = RedisRateLimiter.from_settings(Settings(redis_url=redis_url))
    try:
        first = await limiter.acquire(LONG_CODE, 1, key="a")
        second = await limiter.acquire(LONG_CODE, 1, key="b")
    finally:
        await limiter.close()
    assert first == 0.0
    assert 0.9 < second <= 1.0


async def test_configured_rates_apply(redis_url: str) -> None:
    """HERALD_SENDER_RATES sets the rate the Redis limiter paces at."""
    limiter = RedisRateLimiter.from_settings(
        Settings(redis_url=redis_url, sender_rates="+14155550100=4"), clock=Clock()
    )
    try:
        waits = [await limiter.acquire(LONG_CODE, 1, key=f"m{i}") for i in range(6)]
    finally:
        await limiter.close()
    assert waits == [0.0, 0.0, 0.0, 0.0, 0.25, 0.5]


async def test_unreachable_redis_falls_back_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Redis down the limiter paces in process, says so, and warns only once."""
    limiter = RedisRateLimiter.from_settings(
        Settings(redis_url="redis://127.0.0.1:1/0"), clock=Clock()
    )
    try:
        with caplog.at_level(logging.WARNING, logger="herald.worker.ratelimit"):
            waits = [await limiter.acquire(LONG_CODE, 1, key=f"m{i}") for i in range(3)]
    finally:
        await limiter.close()
    assert waits == [0.0, 1.0, 2.0]
    assert limiter.degraded is not None
    assert "unreachable" in limiter.degraded
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


async def test_the_heartbeats_probe_notices_redis_answering_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A degraded limiter says once that Redis is back, without anything to send, and the
    connections it held from before the outage do not report the outage a second time."""
    with private_redis() as server:
        limiter = RedisRateLimiter.from_settings(Settings(redis_url=server.url), clock=Clock())
        try:
            with caplog.at_level(logging.WARNING, logger="herald.worker.ratelimit"):
                # Several pooled connections, all opened before the outage.
                await asyncio.gather(
                    *(limiter.acquire(LONG_CODE, 1, key=f"before{i}") for i in range(4))
                )
                server.stop()
                await limiter.acquire(LONG_CODE, 1, key="m0")
                await limiter.probe()  # still down: stays degraded
                while_down = limiter.degraded
                server.start()
                for _ in range(3):
                    await limiter.probe()
                recovered = limiter.degraded
                # At once, as a busy worker asks: every pooled connection is used.
                await asyncio.gather(
                    *(limiter.acquire(LONG_CODE, 1, key=f"after{i}") for i in range(4))
                )
        finally:
            await limiter.close()
    assert while_down is not None
    assert recovered is None
    assert limiter.degraded is None
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1, messages
    assert sum("Redis answers again" in m for m in messages) == 1, messages


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rate=st.sampled_from([1.0, 3.0, 10.0, 2.5]),
    costs=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=40),
    gaps=st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=40, max_size=40),
    window=st.floats(min_value=0.5, max_value=5.0),
)
async def test_allowed_events_never_exceed_rate_times_window_plus_burst(
    client: redis.asyncio.Redis,
    rate: float,
    costs: list[int],
    gaps: list[float],
    window: float,
) -> None:
    """Over any window, what Redis lets go costs at most rate * window + burst."""
    await client.flushdb()
    clock = Clock()
    limiter = RedisRateLimiter(client, {LONG_CODE.value: rate}, clock=clock)
    sent: list[tuple[float, int]] = []
    for i, cost in enumerate(costs):
        clock.value += gaps[i]
        if await limiter.acquire(LONG_CODE, cost, key=f"m{i}") == 0.0:
            sent.append((clock.value, cost))
    burst = default_burst(rate)
    for start, _ in sent:
        inside = sum(c for at, c in sent if start <= at < start + window)
        largest = max(c for at, c in sent if start <= at < start + window)
        assert inside <= rate * window + max(burst, largest) + 1e-9


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    tat=st.floats(min_value=0.0, max_value=1e6),
    now=st.floats(min_value=0.0, max_value=1e6),
    rate=st.floats(min_value=0.01, max_value=1000.0),
    burst=st.floats(min_value=1.0, max_value=1000.0),
    cost=st.floats(min_value=0.01, max_value=100.0),
)
async def test_the_lua_step_equals_the_python_gcra(
    client: redis.asyncio.Redis,
    *,
    tat: float,
    now: float,
    rate: float,
    burst: float,
    cost: float,
) -> None:
    """The script's arithmetic gives exactly what `gcra` gives for the same inputs."""
    allowed, new_tat, retry = await client.eval(
        GCRA_STEP_SCRIPT, 0, repr(tat), repr(now), repr(rate), repr(burst), repr(cost)
    )
    expected = gcra(tat, now, rate, burst, cost)
    assert (allowed == b"1", float(new_tat), float(retry)) == (
        expected.allowed,
        expected.tat,
        expected.retry_after,
    )
