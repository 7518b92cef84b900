"""Fault: Herald's processes SIGKILLed at random instants, several times, during a burst.

On PostgreSQL and Redis, one `herald serve --no-worker` takes a burst of messages while two
`herald worker` processes send them to the emulator. At instants drawn from a seeded generator
(the seed is printed; `HERALD_KILL_SEED=N` replays a run) one of the workers, chosen by the
same generator, is killed with SIGKILL and a fresh one started in its place. Afterwards: every
accepted message was created exactly once at the emulator, every one reached a final status in
Herald's database within a bound after the last restart, and no lease is left behind. The
workers reconcile after 15 s (`HERALD_RECONCILE_AFTER_SECONDS`): the callbacks of a message
sent by a worker killed before it recorded the SID are refused, and reconciliation is what
brings such a message to its final status.

On SQLite, one `herald serve` runs the API and its worker in one process, as its public URL;
at the seeded instants that whole process is SIGKILLed and started again on the same port.
Clients whose request met a connection error (or a 503) repeat it with the same
Idempotency-Key until it is accepted, a `200 Idempotent-Replayed` counting as accepted (its
first commit landed, its answer died with the process). The same checks hold, and the last
process exits 0 on SIGTERM. A killed process's sends in flight are ambiguous: after their
lease runs out, the next process looks each one up at Twilio before it sends it again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.crash_cluster import Burst, CallbackCluster
from tests.scaleout.cluster import body, soak_size, wait_for

pytestmark = pytest.mark.slow


def size(name: str, quick: int, full: int) -> int:
    """`HERALD_KILL_BURST_<name>` if set, else `quick`, or `full` under `HERALD_SOAK=1`."""
    return int(os.environ.get(f"HERALD_KILL_BURST_{name}") or soak_size(quick, full))


MESSAGES = size("MESSAGES", 600, 20_000)
KILLS = size("KILLS", 4, 10)
"""Sizes: quick, `HERALD_SOAK=1`, or chosen (`HERALD_KILL_BURST_MESSAGES`, `..._KILLS`)."""
SQLITE_MESSAGES = size("SQLITE_MESSAGES", 300, 5_000)
SQLITE_KILLS = size("SQLITE_KILLS", 3, 8)
"""The SQLite variant's (`HERALD_KILL_BURST_SQLITE_MESSAGES`, `..._SQLITE_KILLS`)."""
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
SQLITE_RECONCILE_AFTER_SECONDS = 10.0
"""On SQLite every callback sent while no process listens is lost, not only those of sends
whose SID was not yet recorded; the same lease (a killed process's claims and ambiguous sends
come back after it) and bound."""


@pytest.fixture
def cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[CallbackCluster]:
    """A deployment on a fresh PostgreSQL database and the test Redis; killed afterwards."""
    running = CallbackCluster(postgres_url, tmp_path, redis_url=redis_url)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Iterator[CallbackCluster]:
    """A one-process deployment on a SQLite file; killed afterwards."""
    running = CallbackCluster(f"sqlite:///{tmp_path / 'herald.db'}", tmp_path)
    try:
        yield running
    finally:
        running.close()


def kill_seed() -> int:
    """`HERALD_KILL_SEED` to replay a run, else a fresh one."""
    chosen = os.environ.get("HERALD_KILL_SEED", "")
    return int(chosen) if chosen else random.SystemRandom().randrange(2**32)


def kill_fractions(seed: int, kills: int) -> tuple[random.Random, list[float]]:
    """The seeded generator, and the fractions of the burst handed over at which to kill: the
    instants spread over the burst, whatever the machine's speed."""
    rng = random.Random(seed)  # noqa: S311 - a replayable schedule of faults, not a secret
    return rng, sorted(rng.uniform(0.05, 0.9) for _ in range(kills))


Kill = Callable[[random.Random], Awaitable[tuple[str, float]]]
"""Kills a process (choosing with the generator if need be) and starts its successor: what
was killed, and the monotonic instant of the kill."""


async def kill_during(
    cluster: CallbackCluster,
    posting: asyncio.Task[Burst],
    *,
    messages: int,
    seed: int,
    kills: int,
    started: float,
    kill: Kill,
) -> list[str]:
    """Kill when each of the seeded fractions of the burst has been handed over, plus a random
    pause of up to half a second; each kill described with its instant after `started`."""
    rng, fractions = kill_fractions(seed, kills)
    done: list[str] = []
    for fraction in fractions:

        async def reached(fraction: float = fraction) -> bool:
            if posting.done():
                posting.result()  # a refused POST fails the test now, not at the timeout
            return await cluster.handed_over() >= messages * fraction

        await wait_for(reached, within=PROGRESS_WITHIN, every=0.05)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        what, killed = await kill(rng)
        done.append(f"{what} at {killed - started:.1f} s")
    return done


@dataclasses.dataclass(frozen=True, slots=True)
class Settled:
    """The database once every message was final."""

    at: float
    """The monotonic instant all were final."""
    handed_over: int
    leased: int
    statuses: Counter[str]
    claimed_again: int
    """Messages claimed more than once (their first claim died with its process)."""
    adopted: int
    """Messages found at Twilio by the look-up before a resend, and adopted: sent by a process
    killed before it recorded the SID."""


async def all_final(cluster: CallbackCluster, messages: int, *, within: float) -> Settled:
    """Wait until every message is final; the test fails with the statuses and every log if
    they are not within `within` seconds."""

    async def final() -> bool:
        return await cluster.final() == messages

    try:
        await wait_for(final, within=within)
    except TimeoutError:
        pytest.fail(
            f"not all final {within:.0f} s after the last restart: "
            f"{await cluster.by_status()}\n{cluster.logs()}"
        )
    return Settled(
        at=time.monotonic(),
        handed_over=await cluster.handed_over(),
        leased=await cluster.leased(),
        statuses=await cluster.by_status(),
        claimed_again=await cluster.claimed_again(),
        adopted=cluster.logged("adopted Twilio message"),
    )


async def assert_each_sent_once(cluster: CallbackCluster, messages: int, settled: Settled) -> None:
    """Every message created exactly once at the emulator (by body), none lost, each handed
    over and `delivered` in Herald, none leased."""
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    lost = {body(i) for i in range(messages)} - set(received)
    assert duplicated == {}, f"sent more than once: {sorted(duplicated)[:10]}"
    assert lost == set(), f"never sent: {sorted(lost)[:10]}"
    assert set(received) == {body(i) for i in range(messages)}
    assert settled.handed_over == messages
    assert settled.leased == 0
    assert set(settled.statuses) <= {"delivered"}, settled.statuses


@pytest.mark.postgres
@pytest.mark.redis
async def test_workers_killed_at_random_lose_and_duplicate_nothing(
    cluster: CallbackCluster,
) -> None:
    """SIGKILLs at random instants: each message sent once, all final, no lease left."""
    seed = kill_seed()
    print(f"kill burst: seed {seed} (replay with HERALD_KILL_SEED={seed})")  # noqa: T201
    cluster.reconcile_after_seconds = RECONCILE_AFTER_SECONDS
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=5_000)
    await cluster.start_callback_api()
    cluster.start_workers(2, lease_seconds=LEASE_SECONDS, batch_size=BATCH)

    async def kill_a_worker(rng: random.Random) -> tuple[str, float]:
        victim = rng.randrange(len(cluster.workers))
        return f"worker {victim}", cluster.restart(victim)

    started = time.monotonic()
    try:
        posting = asyncio.create_task(cluster.post_burst(MESSAGES, concurrency=8))
        kills = await kill_during(
            cluster,
            posting,
            messages=MESSAGES,
            seed=seed,
            kills=KILLS,
            started=started,
            kill=kill_a_worker,
        )
        last_restart = time.monotonic()
        retried = (await posting).retried
        accepted_at = time.monotonic()
        settled = await all_final(cluster, MESSAGES, within=FINAL_WITHIN)
        await cluster.workers_up()  # a worker restarted last may still be starting
    finally:
        await cluster.dispose()
    for worker in cluster.workers:
        assert cluster.stop(worker) == 0
    await assert_each_sent_once(cluster, MESSAGES, settled)
    elapsed = settled.at - started
    print(  # noqa: T201
        f"kill burst: {MESSAGES} messages accepted in {accepted_at - started:.1f} s "
        f"({retried} POSTs retried after 503/429), "
        f"{len(kills)} SIGKILLs ({'; '.join(kills)}), all final after {elapsed:.1f} s "
        f"({MESSAGES / elapsed:.1f} msgs/s held), {settled.at - last_restart:.1f} s after "
        f"the last restart; {settled.claimed_again} claimed again, {settled.adopted} adopted "
        f"at Twilio; lost 0, duplicated 0, leased {settled.leased}, "
        f"statuses {dict(settled.statuses)}"
    )


async def test_serve_on_sqlite_killed_at_random_loses_and_duplicates_nothing(
    sqlite_cluster: CallbackCluster,
) -> None:
    """One `herald serve` with its worker on SQLite, SIGKILLed at random instants and started
    again on its port: each message sent once, all final, no lease left, a clean last exit."""
    cluster = sqlite_cluster
    seed = kill_seed()
    print(f"sqlite kill burst: seed {seed} (replay with HERALD_KILL_SEED={seed})")  # noqa: T201
    cluster.reconcile_after_seconds = SQLITE_RECONCILE_AFTER_SECONDS
    await cluster.start_emulator()
    await cluster.prepare(senders=SENDERS, rate=5_000)
    await cluster.start_callback_api(
        worker=True,
        HERALD_WORKER_LEASE_SECONDS=f"{LEASE_SECONDS:g}",
        HERALD_WORKER_BATCH_SIZE=str(BATCH),
    )

    async def kill_serve(_rng: random.Random) -> tuple[str, float]:
        # Two kills close together find the second process still starting: a fault too.
        starting = not await cluster.api_answers()
        return ("serve (starting)" if starting else "serve"), cluster.restart_api()

    started = time.monotonic()
    try:
        posting = asyncio.create_task(
            cluster.post_burst(SQLITE_MESSAGES, concurrency=8, reconnect=True)
        )
        kills = await kill_during(
            cluster,
            posting,
            messages=SQLITE_MESSAGES,
            seed=seed,
            kills=SQLITE_KILLS,
            started=started,
            kill=kill_serve,
        )
        last_restart = time.monotonic()
        await cluster.api_up()
        up_again = time.monotonic()
        burst = await posting
        accepted_at = time.monotonic()
        settled = await all_final(cluster, SQLITE_MESSAGES, within=FINAL_WITHIN)
    finally:
        await cluster.dispose()
    assert cluster.api is not None
    exit_code = cluster.stop(cluster.api)
    assert exit_code == 0, cluster.logs()
    await assert_each_sent_once(cluster, SQLITE_MESSAGES, settled)
    elapsed = settled.at - started
    print(  # noqa: T201
        f"sqlite kill burst: {SQLITE_MESSAGES} messages accepted in "
        f"{accepted_at - started:.1f} s ({burst.repeated} POSTs repeated: {burst.retried} after "
        f"503/429, {burst.disconnected} after a connection error; {burst.replayed} accepted as "
        f"replays), {len(kills)} SIGKILLs ({'; '.join(kills)}), answering again "
        f"{up_again - last_restart:.1f} s after the last; all final after {elapsed:.1f} s "
        f"({SQLITE_MESSAGES / elapsed:.1f} msgs/s held), {settled.at - last_restart:.1f} s "
        f"after the last restart; {settled.claimed_again} claimed again, {settled.adopted} "
        f"adopted at Twilio; lost 0, duplicated 0, leased {settled.leased}, "
        f"statuses {dict(settled.statuses)}, last exit {exit_code}"
    )
