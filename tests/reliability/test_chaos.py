"""Scenario: every chaos mode of the emulator at once, on PostgreSQL + Redis with many
processes, and on SQLite with one.

Latency, 429s, 500s, 503s, lost create responses, and dropped, duplicated, delayed and
reordered status callbacks, all switched on together, while two APIs take messages and two
workers send them (PostgreSQL), or one `herald serve` with its worker does it all (SQLite).
Every message must end in the status it would have had without chaos (the emulator decides it
from the recipient), each must have been created at Twilio exactly once, and the messages whose
callbacks were lost must get there by reconciliation.

Quick form: 100 messages. `HERALD_SOAK=1`: 5,000 (PostgreSQL), 1,000 (SQLite).
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
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

pytestmark = pytest.mark.slow

MESSAGES: Final = soak_size(100, 5_000)
SQLITE_MESSAGES: Final = soak_size(100, 1_000)
SENDERS: Final = 10
RECONCILE_AFTER: Final = 1.0
SETTLE_SECONDS: Final = soak_size(150, 1_500)
FAULTS: Final = (
    "delayed_requests",
    "too_many_requests",
    "server_errors",
    "unavailable",
    "lost_responses",
    "callback_drop",
    "callback_duplicate",
    "callback_delay",
    "callback_reorder",
)
"""Every fault `CHAOS` switches on: each must have been injected at least once."""


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


@pytest.fixture
def sqlite_chaos_cluster(tmp_path: Path) -> Iterator[ChaosCluster]:
    """A one-process cluster on a SQLite file; killed after."""
    running = ChaosCluster(f"sqlite:///{tmp_path / 'herald.db'}", tmp_path)
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


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What a chaos run came to, once every check passed."""

    settled: float
    """The monotonic instant every message had its ending without chaos."""
    stopped_in: float
    """Seconds the processes took to exit on SIGTERM."""
    faults: dict[str, int]
    sources: Counter[str]


async def check_outcome(
    cluster: ChaosCluster, messages: int, stop: Sequence[subprocess.Popen[bytes]]
) -> Outcome:
    """The checks of every chaos run: each message ends as without chaos; `stop`'s processes
    exit 0 on SIGTERM; chaos switched off, Twilio's list API shows each message created
    exactly once, under the SID Herald recorded; every fault was injected; reconciliation
    applied at least one status (the dropped callbacks)."""

    async def settled() -> bool:
        stored = await cluster.stored()
        return len(stored) == messages and not _mismatches(stored)

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
    for process in stop:
        assert cluster.stop(process) == 0, cluster.logs()
    stopped = time.monotonic()
    stored = {message.index: message for message in await cluster.stored()}
    created = await cluster.emulator_messages()
    at_twilio = Counter(index_of(sent.body) for sent in created)
    duplicated = {index: n for index, n in at_twilio.items() if n > 1}
    assert duplicated == {}, f"created more than once at Twilio: {list(duplicated)[:10]}"
    assert set(at_twilio) == set(range(messages))
    assert {sent.sid for sent in created} == {m.provider_sid for m in stored.values()}
    for sent in created:
        assert stored[index_of(sent.body)].provider_sid == sent.sid

    for fault in FAULTS:
        assert faults.get(fault, 0) > 0, f"no {fault} injected: {faults}"
    sources = await cluster.reports_by_source()
    assert sources["reconcile"] > 0, sources
    return Outcome(done, stopped - stopping, faults, sources)


def figures(
    name: str, messages: int, outcome: Outcome, *, booting: float, started: float, posted: float
) -> str:
    """The figures docs/reliability.md quotes, from the instants the processes were being
    started, the first message was posted and the last accepted."""
    endings = Counter(expected(index).status for index in range(messages))
    return (
        f"{name}: {messages} messages, endings {dict(endings)}; processes up in "
        f"{started - booting:.1f} s, stopped in {outcome.stopped_in:.1f} s; posted in "
        f"{posted - started:.1f} s ({messages / (posted - started):.0f}/s), all final after "
        f"{outcome.settled - started:.1f} s ({outcome.settled - posted:.1f} s after the last was "
        f"accepted); faults {outcome.faults}; applied reports by source {dict(outcome.sources)}"
    )


@pytest.mark.postgres
@pytest.mark.redis
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
    outcome = await check_outcome(cluster, MESSAGES, workers)
    print(  # noqa: T201 - the figures docs/reliability.md quotes
        figures(
            "chaos scenario", MESSAGES, outcome, booting=booting, started=started, posted=posted
        )
        + f"; {busy} POSTs answered 503 and retried (workers stopped)"
    )


async def test_every_message_ends_as_without_chaos_on_sqlite_in_one_process(
    sqlite_chaos_cluster: ChaosCluster,
) -> None:
    """The same on SQLite, one `herald serve` with its worker: right final statuses, no
    duplicate at Twilio, stuck ones reconciled, exit 0."""
    cluster = sqlite_chaos_cluster
    booting = time.monotonic()
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=1_000)
    api, serve = await cluster.start_public_serve(reconcile_after=RECONCILE_AFTER, batch_size=10)
    await cluster.set_chaos(CHAOS)

    started = time.monotonic()
    busy = await cluster.post_chaos([api], SQLITE_MESSAGES, concurrency=8)
    posted = time.monotonic()
    outcome = await check_outcome(cluster, SQLITE_MESSAGES, [serve])
    print(  # noqa: T201 - the figures docs/reliability.md quotes
        figures(
            "sqlite chaos scenario",
            SQLITE_MESSAGES,
            outcome,
            booting=booting,
            started=started,
            posted=posted,
        )
        + f"; {busy} POSTs answered 503 and retried (herald serve stopped)"
    )
