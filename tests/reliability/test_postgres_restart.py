"""Fault: PostgreSQL stopped and started again while the API takes load and the worker sends.

On a private PostgreSQL (tests/reliability/servers.py), with `herald serve --no-worker` and
`herald worker` as real processes: while the database is down the API answers every request
with `503 service_unavailable` and `Retry-After` (a problem document, never a 500 and never a
hang), every message it accepted is delivered exactly once, and both processes, never
restarted, serve again once the database is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from herald.api.problems import UNAVAILABLE_RETRY_AFTER, install_problem_handlers
from herald.gateway import Servers
from herald.storage.engine import CONNECT_TIMEOUT, create_engine
from tests.gateway.gateway_helpers import free_port
from tests.reliability.load import Load, answers_per_second
from tests.reliability.servers import PrivatePostgres, private_postgres
from tests.scaleout.cluster import SOAK, Cluster, body, soak_size, wait_for

OUTAGE_SECONDS = soak_size(3, 15)
# Quick: one `pg_ctl stop -m fast`. Soak: also a crash (`-m immediate`) and a second fast one.
STOP_MODES = ("fast", "immediate", "fast") if SOAK else ("fast",)
WARM_UP = soak_size(15, 200)
"""Messages accepted before the first stop, and again after each start."""


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, which it may stop."""
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


@dataclasses.dataclass
class Probe:
    """`/readyz` polled through the outages."""

    api: str
    answers: Counter[tuple[int, str, bool]] = dataclasses.field(default_factory=Counter)
    """(status, media type, carries Retry-After) of every answer."""

    async def ready(self) -> bool:
        """Ask once; whether it said ready."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.api}/readyz") as response:
            key = (response.status, response.content_type, "Retry-After" in response.headers)
            self.answers[key] += 1
            return response.status == 200


@dataclasses.dataclass
class Outages:
    """When PostgreSQL was down, and how soon Herald came back."""

    spans: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    """(stopped, started) in seconds since the load started."""
    started_at: list[datetime] = dataclasses.field(default_factory=list)
    """The wall-clock time of each start."""
    ready_after: list[float] = dataclasses.field(default_factory=list)
    """Seconds from each start until `/readyz` said ready."""


async def sending_resumed_after(cluster: Cluster, started: datetime) -> float:
    """Seconds from `started` until the worker recorded its next hand-over to Twilio."""
    engine = create_engine(cluster.database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT min(updated_at) FROM messages "
                    "WHERE provider_sid IS NOT NULL AND updated_at > :started"
                ),
                {"started": started},
            )
            first: datetime = result.scalar_one()
    finally:
        await engine.dispose()
    return (first - started).total_seconds()


async def restart_under_load(
    postgres: PrivatePostgres, cluster: Cluster, load: Load, probe: Probe
) -> Outages:
    """Stop and start PostgreSQL once per mode in `STOP_MODES` while `load` runs, each time
    once the API accepted `WARM_UP` more messages and the worker sent some of them."""
    outages = Outages()
    for mode in STOP_MODES:
        floor = load.count("202")
        sent = await cluster.sent_count()

        async def warmed(floor: int = floor, sent: int = sent) -> bool:
            # The worker must be up (it exits if the database is away when it starts).
            return load.count("202") >= floor + WARM_UP and await cluster.sent_count() > sent

        await wait_for(warmed, within=120, every=0.1)
        down = time.monotonic()
        await asyncio.to_thread(postgres.stop, mode)
        while time.monotonic() < down + OUTAGE_SECONDS:
            assert not await probe.ready()
            await asyncio.sleep(0.25)
        await asyncio.to_thread(postgres.start)
        up = time.monotonic()
        outages.spans.append((down - load.started, up - load.started))
        outages.started_at.append(datetime.now(UTC))
        await wait_for(probe.ready, within=60, every=0.05)
        outages.ready_after.append(time.monotonic() - up)
    floor = load.count("202")

    async def served_again() -> bool:
        return load.count("202") >= floor + WARM_UP

    await wait_for(served_again, within=120, every=0.1)
    return outages


@pytest.mark.postgres
@pytest.mark.slow
async def test_api_answers_503_and_nothing_is_lost_while_postgres_restarts(
    postgres: PrivatePostgres, cluster: Cluster
) -> None:
    """503 + Retry-After during the outage, every 202 delivered once, processes recover."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=5_000)
    api = await cluster.start_api()
    worker = cluster.start_worker(lease_seconds=5.0)
    # Message 0 straight into the outbox: the load starts once the worker sent it (it is up).
    await cluster.accept(1)

    async def worker_up() -> bool:
        return await cluster.sent_count() == 1

    await wait_for(worker_up, within=120)
    load = Load(cluster, [api], clients=soak_size(4, 8), first=1)
    probe = Probe(api)
    load.start()
    try:
        outages = await restart_under_load(postgres, cluster, load, probe)
    finally:
        await load.stop()
    ended = time.monotonic() - load.started
    first = load.kinds()
    during = [a for a in load.answers if any(d <= a.started < u for d, u in outages.spans)]
    # Nothing but 202 and 503: no 500, no reset connection, no request left hanging.
    assert set(first) <= {"202", "503"}, (first, cluster.logs())
    assert load.count("503") > 0, "the outage was not seen by any request"
    unavailable = [a for a in load.answers if a.status == 503]
    assert {a.media_type for a in unavailable} == {"application/problem+json"}
    assert {a.code for a in unavailable} == {"service_unavailable"}
    assert all(a.retry_after is not None and a.retry_after.isdigit() for a in unavailable)
    assert set(probe.answers) <= {
        (503, "application/problem+json", True),
        (200, "application/json", False),
    }
    accepted_first = load.accepted()
    # Clients retry what was refused, with the same Idempotency-Key, as the hint says.
    assert await load.settle() == set()
    replayed = sum(1 for a in load.answers if a.status == 200)
    assert await probe.ready()
    total = len(load.posted()) + 1

    async def all_sent() -> bool:
        return await cluster.sent_count() == total

    try:
        await wait_for(all_sent, within=120)
    except TimeoutError:
        pytest.fail(f"not all sent: {await cluster.statuses()}\n{cluster.logs()}")
    # The processes were never restarted.
    assert worker.poll() is None
    assert cluster.stop(worker) == 0
    received = Counter(sent.body for sent in await cluster.emulator_messages())
    duplicated = {text: n for text, n in received.items() if n > 1}
    assert duplicated == {}, f"sent more than once: {list(duplicated)[:10]}"
    assert {body(i) for i in accepted_first} <= set(received)
    assert set(received) == {body(0)} | {body(i) for i in load.posted()}
    resumed = [await sending_resumed_after(cluster, up) for up in outages.started_at]
    outage = sum(u - d for d, u in outages.spans)
    edges = [0.0, *(t for span in outages.spans for t in span), ended]
    steady = list(zip(edges[::2], edges[1::2], strict=True))
    held = sum(answers_per_second(load.answers, "202", s, e) for s, e in steady) / len(steady)
    print(  # noqa: T201
        f"postgres restart: {len(outages.spans)} stop(s) {'/'.join(STOP_MODES)}, "
        f"{outage:.1f} s down; load held {held:.1f} msgs/s; first answers {dict(first)}, "
        f"{len(during)} during the outage, slowest 503 "
        f"{max(a.seconds for a in unavailable):.2f} s; {len(accepted_first)} accepted at once, "
        f"{total} after retries ({replayed} replayed 200); delivered {len(received)}, lost "
        f"{total - len(received)}, duplicated {len(duplicated)}; /readyz ready again "
        f"{max(outages.ready_after):.2f} s after PostgreSQL started, the worker sending again "
        f"after {max(resumed):.2f} s"
    )


def _failing_app(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.api_route("/fail", methods=["GET", "POST"])
    async def fail() -> None:
        raise error

    return app


def _translated(driver_error: Exception) -> DBAPIError:
    """`driver_error` as SQLAlchemy hands it over: a DBAPIError of the driver adapter's error,
    caused by asyncpg's."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("SELECT 1", None, adapted)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        _translated(asyncpg.exceptions.CannotConnectNowError("the database system is starting")),
        _translated(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        _translated(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
        _translated(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients")),
        DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True),
        PoolTimeout("QueuePool limit of size 16 overflow 10 reached"),
        OperationalError("BEGIN", None, sqlite3.OperationalError("database is locked")),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_an_unreachable_database_is_a_503_with_retry_after(error: Exception) -> None:
    """Every way a database restart shows is `service_unavailable` with Retry-After."""
    transport = httpx.ASGITransport(app=_failing_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        response = await http.get("/fail")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    assert response.json()["code"] == "service_unavailable"
    assert "5432" not in response.text


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT", None, sqlite3.OperationalError("no such table: messages")),
        _translated(asyncpg.exceptions.UndefinedTableError('relation "m" does not exist')),
    ],
    ids=["sqlite", "postgresql"],
)
async def test_a_fault_of_herald_stays_an_internal_error(error: Exception) -> None:
    """A missing table is Herald's fault, not an outage: 500, with nothing of the cause."""
    transport = httpx.ASGITransport(app=_failing_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        response = await http.get("/fail")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "Retry-After" not in response.headers
    assert "messages" not in response.text


async def test_a_500_leaves_the_keep_alive_connection_usable() -> None:
    """A client's next request on the connection that carried a 500 is answered too."""

    class Bug(Exception):
        pass

    servers = Servers()
    port = free_port()
    await servers.start(_failing_app(Bug("a fault of Herald's")), host="127.0.0.1", port=port)
    answers: list[int | str] = []
    try:
        connector = aiohttp.TCPConnector(limit=1)  # every request on the one connection
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(6):
                try:
                    # POST: aiohttp never retries it on a connection the server closed.
                    async with http.post(f"http://127.0.0.1:{port}/fail") as response:
                        answers.append(response.status)
                except aiohttp.ClientError as exc:
                    answers.append(type(exc).__name__)
    finally:
        await servers.stop()
    assert answers == [500] * 6


@pytest.mark.slow
async def test_a_database_that_never_answers_is_a_503_not_a_hang() -> None:
    """A host that takes the connection and says nothing (a partition): the API answers 503
    after the connect time-out instead of leaving the client waiting a minute or more."""

    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(-1)  # takes the startup message, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{port}/herald")
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/read")
    async def read() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http,
            # A hang detector, not a speed check: asyncpg's own default would take 60 s.
            asyncio.timeout(CONNECT_TIMEOUT * 3),
        ):
            response = await http.get("/read")
    finally:
        await engine.dispose()
        server.close()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    assert response.json()["code"] == "service_unavailable"
