"""Scenario: every chaos mode of the emulator at once, on PostgreSQL + Redis, many processes.

Latency, 429s, 500s, 503s, lost create responses, and dropped, duplicated, delayed and
reordered status callbacks, all switched on together, while two APIs take messages and two
workers send them. Every message must end in the status it would have had without chaos (the
emulator decides it from the recipient), each must have been created at Twilio exactly once,
and the messages whose callbacks were lost must get there by reconciliation.

Quick form: 100 messages. `HERALD_SOAK=1`: 5,000.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.reliability.chaos_cluster import (
    CHAOS,
    ChaosCluster,
    Ending,
    Stored,
    expected,
    index_of,
)
from tests.reliability.servers import private_postgres
from tests.scaleout.cluster import soak_size, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

MESSAGES: Final = soak_size(100, 5_000)
SENDERS: Final = 10
RECONCILE_AFTER: Final = 1.0
SETTLE_SECONDS: Final = soak_size(150, 1_500)


@pytest.fixture
def chaos_cluster(redis_url: str, tmp_path: Path) -> Iterator[ChaosCluster]:
    """A cluster on a private PostgreSQL server and the test Redis; killed after.

    Four Herald processes hold up to about 80 connections at the peak (26 per process at
    most), more than a shared server's default 100 leaves free beside other sessions; the
    private server allows 200.
    """
    with private_postgres() as server:
        running = ChaosCluster(
            server.create_database("herald_chaos"), tmp_path, redis_url=redis_url
        )
        try:
            yield running
        finally:
            running.close()


def _mismatches(stored: list[Stored]) -> dict[int, tuple[Ending, Ending]]:
    """Messages whose ending differs from the one without chaos: index -> (got, wanted)."""
    return {
        message.index: (Ending(message.status, message.error_code), expected(message.index))
        for message in stored
        if Ending(message.status, message.error_code) != expected(message.index)
    }


async def test_every_message_ends_as_without_chaos_and_is_sent_once(
    chaos_cluster: ChaosCluster,
) -> None:
    """All chaos at once: right final statuses, no duplicate at Twilio, stuck ones reconciled."""
    cluster = chaos_cluster
    booting = time.monotonic()
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=1_000)
    # The public API is spawned first (its coroutine runs up to its first wait before the
    # second's starts), so the second API is started with the public URL set too.
    public_api, second_api = await asyncio.gather(cluster.start_public_api(), cluster.start_api())
    workers = [
        cluster.start_reconciling_worker(reconcile_after=RECONCILE_AFTER, batch_size=10)
        for _ in (1, 2)
    ]
    await cluster.set_chaos(CHAOS)

    started = time.monotonic()
    busy = await cluster.post_chaos([public_api, second_api], MESSAGES, concurrency=8)
    posted = time.monotonic()

    async def settled() -> bool:
        stored = await cluster.stored()
        return len(stored) == MESSAGES and not _mismatches(stored)

    try:
        await wait_for(settled, within=SETTLE_SECONDS, every=0.5)
    except TimeoutError:
        wrong = _mismatches(await cluster.stored())
        pytest.fail(
            f"{len(wrong)} messages did not end as without chaos, e.g. "
            f"{list(wrong.items())[:10]}\n{await cluster.statuses()}\n{cluster.logs()}"
        )
    done = time.monotonic()
    faults = await cluster.chaos_counts()
    await cluster.set_chaos({})  # read back through Twilio's API without meeting chaos

    stopping = time.monotonic()
    for worker in workers:
        assert cluster.stop(worker) == 0, cluster.logs()
    stopped = time.monotonic()
    stored = {message.index: message for message in await cluster.stored()}
    created = await cluster.emulator_messages()
    at_twilio = Counter(index_of(sent.body) for sent in created)
    duplicated = {index: n for index, n in at_twilio.items() if n > 1}
    assert duplicated == {}, f"created more than once at Twilio: {list(duplicated)[:10]}"
    assert set(at_twilio) == set(range(MESSAGES))
    assert {sent.sid for sent in created} == {m.provider_sid for m in stored.values()}
    for sent in created:
        assert stored[index_of(sent.body)].provider_sid == sent.sid

    # Every fault was met, and reconciliation moved the messages whose callbacks were lost.
    for fault in (
        "delayed_requests",
        "too_many_requests",
        "server_errors",
        "unavailable",
        "lost_responses",
        "callback_drop",
        "callback_duplicate",
        "callback_delay",
        "callback_reorder",
    ):
        assert faults.get(fault, 0) > 0, f"no {fault} injected: {faults}"
    sources = await cluster.reports_by_source()
    assert sources["reconcile"] > 0, sources
    endings = Counter(expected(index).status for index in range(MESSAGES))
    print(  # noqa: T201 - the figures docs/reliability.md quotes
        f"chaos scenario: {MESSAGES} messages, endings {dict(endings)}; processes up in "
        f"{started - booting:.1f} s, workers stopped in {stopped - stopping:.1f} s; posted in "
        f"{posted - started:.1f} s ({MESSAGES / (posted - started):.0f}/s), all final after "
        f"{done - started:.1f} s ({done - posted:.1f} s after the last was accepted); {busy} "
        f"POSTs answered 503 and retried; "
        f"faults {faults}; applied reports by source {dict(sources)}"
    )
