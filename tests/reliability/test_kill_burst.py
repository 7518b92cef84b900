"""Fault: worker processes SIGKILLed at random instants, several times, during a burst.

On PostgreSQL and Redis, one `herald serve --no-worker` takes a burst of messages while two
`herald worker` processes send them to the emulator. At instants drawn from a seeded generator
(the seed is printed; `HERALD_KILL_SEED=N` replays a run) one of the workers, chosen by the
same generator, is killed with SIGKILL and a fresh one started in its place. Afterwards: every
accepted message was created exactly once at the emulator, every one reached a final status in
Herald's database within a bound after the last restart, and no lease is left behind. The
workers reconcile after 15 s (`HERALD_RECONCILE_AFTER_SECONDS`): the callbacks of a message
sent by a worker killed before it recorded the SID are refused, and reconciliation is what
brings such a message to its final status.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.crash_cluster import CallbackCluster
from tests.scaleout.cluster import body, soak_size, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

MESSAGES = int(os.environ.get("HERALD_KILL_BURST_MESSAGES") or soak_size(600, 20_000))
KILLS = int(os.environ.get("HERALD_KILL_BURST_KILLS") or soak_size(4, 10))
"""Sizes: quick, `HERALD_SOAK=1`, or chosen (`HERALD_KILL_BURST_MESSAGES`, `..._KILLS`)."""
# A killed worker's claims come back when their lease runs out; small batches keep a live
# worker's lease from running out on a busy machine before it has sent what it claimed.
LEASE_SECONDS = 10.0
BATCH = 10
SENDERS = 4
PROGRESS_WITHIN = soak_size(600, 3_600)
"""How long the burst may take to reach the next kill, however busy the machine."""
RECONCILE_AFTER_SECONDS = 15.0
"""A message whose callbacks were refused (its SID not yet recorded) is fetched from Twilio this
long after its last change; the default, 600 s, would make the bound below ten minutes."""
FINAL_WITHIN = soak_size(120, 300)
"""The bound, after the last restart, by which every message must be final: the lease, the
reconciliation delay and the rest of the burst still to send, with room for a busy machine."""


@pytest.fixture
def cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[CallbackCluster]:
    """A deployment on a fresh PostgreSQL database and the test Redis; killed afterwards."""
    running = CallbackCluster(postgres_url, tmp_path, redis_url=redis_url)
    try:
        yield running
    finally:
        running.close()


def kill_seed() -> int:
    """`HERALD_KILL_SEED` to replay a run, else a fresh one."""
    chosen = os.environ.get("HERALD_KILL_SEED", "")
    return int(chosen) if chosen else random.SystemRandom().randrange(2**32)


async def test_workers_killed_at_random_lose_and_duplicate_nothing(
    cluster: CallbackCluster,
) -> None:
    """SIGKILLs at random instants: each message sent once, all final, no lease left."""
    seed = kill_seed()
    rng = random.Random(seed)  # noqa: S311 - a replayable schedule of faults, not a secret
    print(f"kill burst: seed {seed} (replay with HERALD_KILL_SEED={seed})")  # noqa: T201
    # Kill when these fractions of the burst have been handed over, plus a random pause of
    # up to half a second: instants spread over the burst, whatever the machine's speed.
    fractions = sorted(rng.uniform(0.05, 0.9) for _ in range(KILLS))
    cluster.reconcile_after_seconds = RECONCILE_AFTER_SECONDS
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=5_000)
    await cluster.start_callback_api()
    cluster.start_workers(2, lease_seconds=LEASE_SECONDS, batch_size=BATCH)
    started = time.monotonic()
    try:
        posting = asyncio.create_task(cluster.post_burst(MESSAGES, concurrency=8))
        kills: list[str] = []
        for fraction in fractions:

            async def reached(fraction: float = fraction) -> bool:
                if posting.done():
                    posting.result()  # a refused POST fails the test now, not at the timeout
                return await cluster.handed_over() >= MESSAGES * fraction

            await wait_for(reached, within=PROGRESS_WITHIN, every=0.05)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            victim = rng.randrange(len(cluster.workers))
            killed = cluster.restart(victim)
            kills.append(f"worker {victim} at {killed - started:.1f} s")
        last_restart = time.monotonic()
        retried = await posting
        accepted_at = time.monotonic()

        async def all_final() -> bool:
            return await cluster.final() == MESSAGES

        try:
            await wait_for(all_final, within=FINAL_WITHIN)
        except TimeoutError:
            pytest.fail(
                f"not all final {FINAL_WITHIN:.0f} s after the last restart: "
                f"{await cluster.by_status()}\n{cluster.logs()}"
            )
        all_final_at = time.monotonic()
        handed_over = await cluster.handed_over()
        leased = await cluster.leased()
        statuses = await cluster.by_status()
    finally:
        await cluster.dispose()
    for worker in cluster.workers:
        assert cluster.stop(worker) == 0
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    lost = {body(i) for i in range(MESSAGES)} - set(received)
    assert duplicated == {}, f"sent more than once: {sorted(duplicated)[:10]}"
    assert lost == set(), f"never sent: {sorted(lost)[:10]}"
    assert set(received) == {body(i) for i in range(MESSAGES)}
    assert handed_over == MESSAGES
    assert leased == 0
    assert set(statuses) <= {"delivered"}, statuses
    elapsed = all_final_at - started
    print(  # noqa: T201
        f"kill burst: {MESSAGES} messages accepted in {accepted_at - started:.1f} s "
        f"({retried} POSTs retried after 503/429), "
        f"{len(kills)} SIGKILLs ({'; '.join(kills)}), all final after {elapsed:.1f} s "
        f"({MESSAGES / elapsed:.1f} msgs/s held), {all_final_at - last_restart:.1f} s after "
        f"the last restart; lost {len(lost)}, duplicated {len(duplicated)}, leased {leased}, "
        f"statuses {dict(statuses)}"
    )
