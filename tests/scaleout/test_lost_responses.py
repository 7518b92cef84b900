"""Proof: with 20% of Twilio's answers lost, the worker sends no message twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.scaleout.cluster import Cluster, body, soak_size, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MESSAGES = soak_size(400, 5_000)


async def test_lost_responses_cause_no_duplicates(cluster: Cluster) -> None:
    """Each message whose create answer was lost is looked up and adopted, never resent."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=5_000)
    await cluster.set_chaos({"seed": 5, "lost_responses": 0.2})
    await cluster.accept(MESSAGES)
    started = time.monotonic()
    worker = cluster.start_worker()

    async def all_sent() -> bool:
        return await cluster.sent_count() == MESSAGES

    try:
        await wait_for(all_sent, within=120)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    assert cluster.stop(worker) == 0
    elapsed = time.monotonic() - started
    lost = (await cluster.chaos_counts()).get("lost_responses", 0)
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    assert duplicated == {}, f"sent more than once: {list(duplicated)[:10]}"
    assert set(received) == {body(i) for i in range(MESSAGES)}
    assert lost > MESSAGES * 0.1
    print(f"lost-response proof: {MESSAGES} messages, {lost} answers lost, {elapsed:.1f} s")  # noqa: T201
