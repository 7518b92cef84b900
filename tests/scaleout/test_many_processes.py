"""Proof: two API and two worker processes on PostgreSQL + Redis: exactly once, rates held."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from tests.scaleout.cluster import Cluster, body, soak_size, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SENDERS = 20
RATE = 1.0  # a US long code's default: the rate Herald must hold each sender to
MESSAGES = soak_size(400, 10_000)
TOLERANCE = 0.10


def observed_rate(dates: list[datetime]) -> float:
    """Messages per second after the first, over whole-second creation dates."""
    span = (max(dates) - min(dates)).total_seconds()
    return (len(dates) - 1) / span


async def test_two_apis_and_two_workers_hold_every_senders_rate(redis_cluster: Cluster) -> None:
    """Every message is sent once, and no sender goes faster than its rate plus 10%."""
    cluster = redis_cluster
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=RATE)
    apis = [await cluster.start_api(), await cluster.start_api()]
    # Small batches and few requests at once keep the four processes' database pools
    # inside PostgreSQL's default 100 connections.
    workers = [cluster.start_worker(batch_size=10) for _ in range(2)]
    started = time.monotonic()
    await cluster.post(apis, MESSAGES, concurrency=8)

    async def all_sent() -> bool:
        return await cluster.sent_count() == MESSAGES

    try:
        await wait_for(all_sent, within=MESSAGES / (SENDERS * RATE) * 2 + 30)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    elapsed = time.monotonic() - started
    for worker in workers:
        assert cluster.stop(worker) == 0
    sent = await cluster.emulator_messages()
    received = Counter(each.body for each in sent)
    assert {text: n for text, n in received.items() if n > 1} == {}
    assert set(received) == {body(i) for i in range(MESSAGES)}
    dates: dict[str, list[datetime]] = defaultdict(list)
    for each in sent:
        dates[each.from_].append(each.date_created)
    rates = {sender: observed_rate(each) for sender, each in dates.items()}
    assert set(rates) == set(cluster.senders)
    too_fast = {s: r for s, r in rates.items() if r > RATE * (1 + TOLERANCE)}
    assert too_fast == {}
    print(  # noqa: T201
        f"many-process proof: {MESSAGES} messages, {SENDERS} senders at {RATE:g}/s, "
        f"{elapsed:.1f} s; observed rates {min(rates.values()):.3f}..{max(rates.values()):.3f}/s"
    )
