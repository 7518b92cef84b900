"""Proof: a worker process killed with SIGKILL mid-stream sends nothing twice and loses nothing."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.scaleout.cluster import Cluster, body, soak_size, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# 2,000 take about 60 s to send on two cores; the quick form proves the same with fewer.
MESSAGES = soak_size(600, 2_000)


async def test_killed_workers_deliver_every_message_exactly_once(cluster: Cluster) -> None:
    """Accepted messages, the worker SIGKILLed twice and restarted: each sent exactly once."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=5_000)
    await cluster.accept(MESSAGES)
    started = time.monotonic()
    worker = cluster.start_worker(lease_seconds=5.0)
    for fraction in (0.25, 0.6):

        async def passed(fraction: float = fraction) -> bool:
            return await cluster.sent_count() >= MESSAGES * fraction

        await wait_for(passed, within=60, every=0.05)
        cluster.kill(worker)
        worker = cluster.start_worker(lease_seconds=5.0)

    async def all_sent() -> bool:
        return await cluster.sent_count() == MESSAGES

    try:
        await wait_for(all_sent, within=120)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    assert cluster.stop(worker) == 0
    elapsed = time.monotonic() - started
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    assert duplicated == {}, f"sent more than once: {list(duplicated)[:10]}"
    assert set(received) == {body(i) for i in range(MESSAGES)}
    print(f"crash proof: {MESSAGES} messages, 2 kills, {elapsed:.1f} s")  # noqa: T201
