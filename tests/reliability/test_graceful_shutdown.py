"""Fault: SIGTERM to Herald's processes in the middle of a burst.

- `herald worker` and `herald serve --no-worker` (PostgreSQL): Twilio answers slowly (emulator
  latency), so sends are in flight when a worker's signal comes, and clients post through the
  API. The worker exits 0 within `STOP_SECONDS` and leaves no message leased; then the API is
  stopped: every request sent before its signal is answered (202), none is reset, it exits 0.
  A new worker delivers every message exactly once, and nothing the API did not answer 202.
- `herald serve` with its in-process worker (SQLite, one process): both at once; a new
  `herald serve` on the same file delivers the rest exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from herald.storage.engine import create_engine
from tests.gateway.gateway_helpers import free_port
from tests.reliability.load import Load
from tests.reliability.servers import PrivatePostgres, private_postgres
from tests.scaleout.cluster import (
    STOP_SECONDS,
    Cluster,
    body,
    soak_size,
    wait_for,
    wait_until_up,
)

pytestmark = pytest.mark.slow

MESSAGES = soak_size(120, 2_000)
STOPS = soak_size(1, 3)
"""Workers stopped one after another before the last one finishes the burst."""
LEASE_SECONDS = 4.0
"""A stopping worker waits half of it (2 s) for sends in flight, then hands them back; each
Twilio request may take a third of it (1.33 s)."""
# Twilio answering in 0.2 to 1.0 s, so that many sends are in flight when the signal comes.
LATENCY = {"seed": 8, "latency_ms": 600, "latency_jitter_ms": 400}


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own (the shared one is busy with other tests)."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def cluster(postgres: PrivatePostgres, tmp_path: Path) -> Iterator[Cluster]:
    """A Herald deployment on the private server; every process killed afterwards."""
    running = Cluster(postgres.create_database("herald"), tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A one-process Herald on a SQLite file; every process killed afterwards."""
    running = Cluster(f"sqlite:///{tmp_path / 'herald.db'}", tmp_path)
    try:
        yield running
    finally:
        running.close()


async def leased(database_url: str) -> int:
    """Messages some worker still holds a lease on."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT count(*) FROM messages WHERE lease_owner IS NOT NULL")
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()


async def serve(
    cluster: Cluster, *, worker: bool, **env: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """`herald serve` (`--no-worker` unless `worker`) on a free port; its URL and process."""
    port = free_port()
    args = ["serve", "--port", str(port), *([] if worker else ["--no-worker"])]
    process = cluster._spawn("serve", args, cluster._env(**env))  # noqa: SLF001
    url = f"http://127.0.0.1:{port}"
    await wait_until_up(f"{url}/healthz")
    return url, process


def terminate(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM; the exit code and the seconds it took (`TimeoutExpired` after STOP_SECONDS)."""
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=STOP_SECONDS)
    return code, time.monotonic() - began


async def exactly_once(cluster: Cluster, expected: set[str]) -> None:
    """Every body in `expected` reached the emulator once, and nothing else did."""
    await cluster.set_chaos({})
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    assert duplicated == {}, f"sent more than once: {list(duplicated)[:10]}"
    assert set(received) == expected


@pytest.mark.postgres
async def test_sigterm_mid_burst_to_workers_and_the_api(cluster: Cluster) -> None:
    """Each stopped worker exits 0 holding nothing; the API answers every request sent before
    its SIGTERM and exits 0; a new worker delivers every message once."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=5_000)
    await cluster.accept(MESSAGES)
    await cluster.set_chaos(LATENCY)
    api, api_process = await serve(cluster, worker=False)
    # Posted through the API from the first worker's signal on, numbered after the burst.
    load = Load(cluster, [api], clients=4, retry=False, first=MESSAGES)
    stops: list[tuple[int, float, int]] = []
    try:
        for stop in range(STOPS):
            worker = cluster.start_worker(lease_seconds=LEASE_SECONDS, batch_size=20)

            async def midway(stop: int = stop) -> bool:
                return await cluster.sent_count() >= MESSAGES * (stop + 1) // (STOPS + 2)

            await wait_for(midway, within=120, every=0.05)
            if stop == 0:
                load.start()
            code, seconds = await asyncio.to_thread(terminate, worker)
            held = await leased(cluster.database_url)
            stops.append((code, seconds, await cluster.sent_count()))
            assert code == 0, cluster.logs()
            assert held == 0, f"{held} messages still leased after the worker stopped"

        async def busy() -> bool:
            return load.count("202") >= soak_size(20, 400)

        await wait_for(busy, within=120, every=0.05)
        signalled = time.monotonic() - load.started
        api_code, api_seconds = await asyncio.to_thread(terminate, api_process)
    finally:
        await load.stop()
    before = [a for a in load.answers if a.started < signalled]
    after = [a for a in load.answers if a.started >= signalled]
    assert api_code == 0, cluster.logs()
    assert before
    assert Counter(a.kind for a in before) == Counter({"202": len(before)})
    # Sent after the signal: answered, refused at connect, or cut off unread on a keep-alive
    # connection the server was closing (the expected count below proves such a request was
    # not accepted); never a 5xx.
    assert {a.kind for a in after} <= {
        "202",
        "ClientConnectorError",
        "ClientOSError",
        "ServerDisconnectedError",
    }, Counter(a.kind for a in after)
    expected = {body(i) for i in range(MESSAGES)} | {body(i) for i in load.accepted()}
    worker = cluster.start_worker(lease_seconds=LEASE_SECONDS, batch_size=20)

    async def all_sent() -> bool:
        return await cluster.sent_count() == len(expected)

    try:
        await wait_for(all_sent, within=240)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    assert terminate(worker)[0] == 0
    assert await leased(cluster.database_url) == 0
    # Nothing stored that the API did not answer 202, nothing answered 202 lost.
    await exactly_once(cluster, expected)
    print(  # noqa: T201
        f"worker SIGTERM: {MESSAGES} messages in the outbox, Twilio latency 0.2-1.0 s, stops "
        f"(exit code, seconds to exit, sent so far) {[(c, round(s, 2), n) for c, s, n in stops]}"
        f"; 0 left leased. serve SIGTERM: {len(before)} requests sent before the signal, all "
        f"202; after it {dict(Counter(a.kind for a in after))}; exit {api_code} in "
        f"{api_seconds:.2f} s. Delivered {len(expected)}, lost 0, duplicated 0"
    )


async def test_sigterm_to_serve_with_its_worker_on_sqlite(sqlite_cluster: Cluster) -> None:
    """One process on SQLite: SIGTERM mid-burst exits 0 holding nothing; a new one finishes."""
    cluster = sqlite_cluster
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=5_000)
    await cluster.set_chaos(LATENCY)

    lease = {"HERALD_WORKER_LEASE_SECONDS": str(LEASE_SECONDS)}
    api, process = await serve(cluster, worker=True, **lease)
    load = Load(cluster, [api], clients=4, retry=False)
    load.start()

    async def midway() -> bool:
        return load.count("202") >= soak_size(30, 600) and await cluster.sent_count() > 0

    await wait_for(midway, within=120, every=0.05)
    signalled = time.monotonic() - load.started
    code, seconds = await asyncio.to_thread(terminate, process)
    await load.stop()
    held = await leased(cluster.database_url)
    sent_at_stop = await cluster.sent_count()
    before = [a for a in load.answers if a.started < signalled]
    assert code == 0, cluster.logs()
    assert held == 0
    assert Counter(a.kind for a in before) == Counter({"202": len(before)})
    accepted = load.accepted()
    api, process = await serve(cluster, worker=True, **lease)

    async def all_sent() -> bool:
        return await cluster.sent_count() == len(accepted)

    try:
        await wait_for(all_sent, within=240)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    assert terminate(process)[0] == 0
    await exactly_once(cluster, {body(i) for i in accepted})
    print(  # noqa: T201
        f"sqlite serve SIGTERM: {len(accepted)} accepted, {sent_at_stop} sent at the signal; "
        f"exit {code} in {seconds:.2f} s, 0 left leased; after a new serve delivered "
        f"{len(accepted)}, lost 0, duplicated 0"
    )
