"""The gateway's speed on PostgreSQL and SQLite, each figure beside a floor from the same run.

    .venv/bin/python bench/gateway_load.py [--messages N] [--dispatch D] [--concurrency C]
        [--rounds R] [--databases postgresql,sqlite] [--postgres-url URL]

For each database (PostgreSQL in a scratch database created and dropped here, SQLite in a
temporary file), this process migrates it, starts the Twilio emulator in a process of its own
(per-sender throughput off), creates the `default` tenant against it with an API key, and
runs `herald serve` in another process, as an operator would. It drives HTTP with aiohttp
(keep-alive, `--concurrency` requests in flight) and reports:

1. accepted sends/s through `POST /v1/messages` (gateway without its worker), each to a number
   not sent to before in the run, beside the floor:
   one row committed per transaction into a table shaped like a message, by as many tasks,
   through asyncpg or aiosqlite (`gateway_floors.py`); rounds alternate floor and gateway;
2. p50/p99 latency of those sends;
3. dispatch: `herald serve` restarted with its worker (sender rate 100,000/s, so pacing does
   not bind) hands `--dispatch` accepted messages to the emulator (the rest of the backlog
   is canceled first); messages/s from its first hand-over to its last, beside as many bare
   aiohttp POSTs of the same form to the emulator;
4. callbacks/s through `POST /webhooks/twilio/status` (signed, a fresh
   `I-Twilio-Idempotency-Token` each, `--dispatch` distinct messages per round) beside a
   Starlette app that commits one `UPDATE` per callback on the same database.

Each figure also gives the `herald serve` process's CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import functools
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

import aiohttp
import asyncpg
import uvicorn
from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).parent))

from emulator_load import MESSAGES_PATH, Child, can_text, recipients, wait_ready
from gateway_floors import callback_floor_app, commit_floor
from herald.api.deps import utc_now
from herald.domain.records import TenantSettings, TwilioCredentials
from herald.domain.signatures import twilio_signature
from herald.emulator import EmulatorConfig, create_app
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.schema import messages
from herald.storage.tenants import TenantRepository
from machine import describe

BODY: Final = "Your order 4471 has shipped and arrives on Tuesday. Track it: https://t.example/4471"
HERALD: Final = str(Path(sys.executable).with_name("herald"))
DISPATCH_TIMEOUT: Final = 300.0
POLL_SECONDS: Final = 0.02
WARM_UP: Final = 200
# After the backlog is handed over, the emulator still calls back (sent, delivered) for a while.
SETTLE_SECONDS: Final = 3.0
STATUS_PATH: Final = "/webhooks/twilio/status"


@dataclasses.dataclass(frozen=True)
class Rate:
    """Requests per second, with latency percentiles in milliseconds where measured."""

    per_s: float
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_us: float = 0.0


@dataclasses.dataclass
class Figures:
    """Everything measured on one database with `processes` HTTP processes."""

    database: str
    processes: int
    accepts: list[tuple[Rate, Rate]] = dataclasses.field(default_factory=list)
    callbacks: list[tuple[Rate, Rate]] = dataclasses.field(default_factory=list)
    dispatch: tuple[Rate, Rate] | None = None


# -- processes ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(
    command: list[str], base_url: str, env: dict[str, str] | None = None
) -> Iterator[Child]:
    """Run `command` until the block ends (SIGTERM, as `herald serve` expects to stop)."""
    child = subprocess.Popen(  # noqa: S603 - this script, or herald from the same virtualenv
        command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, text=True
    )
    try:
        yield Child(child, base_url)
    finally:
        child.terminate()
        child.wait(30)


def serve(kind: str, args: argparse.Namespace) -> None:
    """Serve the emulator or the callback floor on `--port` (in a process of its own)."""
    if kind == "emulator":
        emulator = EmulatorConfig(
            account_sid=args.account_sid,
            auth_token=args.auth_token,
            port=args.port,
            throughput_enabled=False,
        )
        app = create_app(emulator)
    else:
        app = callback_floor_app(args.database_url)
    config = uvicorn.Config(
        app, port=args.port, log_level="warning", access_log=False, lifespan="on", ws="none"
    )
    uvicorn.Server(config).run()


def _self(kind: str, port: int, args: argparse.Namespace, database_url: str = "") -> list[str]:
    return [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--port",
        str(port),
        "--account-sid",
        args.account_sid,
        "--auth-token",
        args.auth_token,
        "--database-url",
        database_url,
    ]


@contextlib.asynccontextmanager
async def scratch_database(kind: str, args: argparse.Namespace) -> AsyncIterator[str]:
    """A fresh database URL: a PostgreSQL database dropped afterwards, or a temporary file."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/herald.db"
        return
    name = "herald_bench_" + secrets.token_hex(4)
    admin = await asyncpg.connect(args.postgres_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            yield args.postgres_url.rsplit("/", 1)[0] + "/" + name
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def provision(url: str, emulator: str, args: argparse.Namespace, key: str) -> tuple[str, str]:
    """Migrate, buy a number at the emulator, create the tenant; (API key, sender number)."""
    await upgrade(url)
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator + "/_emulator/seed", json={"numbers": 1}) as response,
    ):
        response.raise_for_status()
        number = str((await response.json())["numbers"][0]["phone_number"])
    engine = create_engine(url)
    try:
        tenant = await TenantRepository(engine, SecretBox(key)).create(
            "default",
            now=utc_now(),
            credentials=TwilioCredentials(account_sid=args.account_sid, secret=args.auth_token),
            settings=TenantSettings(default_sender=number),
        )
        created = await ApiKeyRepository(engine).create(tenant.id, label="bench", now=utc_now())
    finally:
        await engine.dispose()
    return created.key, number


def gateway_env(url: str, *, port: int, emulator: str, key: str, sender: str) -> dict[str, str]:
    """`herald serve`'s environment: this database, the emulator as Twilio, no pacing."""
    return {
        "HERALD_HOME": tempfile.gettempdir(),
        "HERALD_DATABASE_URL": url,
        "HERALD_PORT": str(port),
        "HERALD_SECRET_KEY": key,
        "HERALD_TWILIO_BASE_URL": emulator,
        "HERALD_SENDER_RATES": f"{sender}=100000",
        "HERALD_LOG_LEVEL": "warning",
    }


# -- load --------------------------------------------------------------------------------------


async def post_all(
    session: aiohttp.ClientSession,
    url: str,
    bodies: list[tuple[bytes, dict[str, str]]],
    concurrency: int,
    *,
    expect: int,
    server: Child | None = None,
) -> Rate:
    """POST every (body, headers) with `concurrency` in flight; rate, latency, server CPU."""
    latencies: list[float] = []
    cpu = server.cpu() if server is not None else 0.0
    pending = iter(bodies)

    async def task() -> None:
        for body, headers in pending:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != expect:
                    raise SystemExit(f"POST {url}: {response.status} {await response.text()}")
            latencies.append(time.perf_counter() - started)

    start = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    used = server.cpu() - cpu if server is not None else 0.0
    cuts = statistics.quantiles(latencies, n=100)
    return Rate(len(bodies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, used / len(bodies) * 1e6)


@functools.cache
def _area_codes() -> tuple[int, ...]:
    """US/Canadian area codes whose `NPA 3XX XXXX` numbers Herald takes as SMS recipients."""
    return tuple(
        npa
        for npa in range(201, 1000)
        if all(can_text(f"+1{npa}{local}") for local in ("3000000", "3999999"))
    )


def fresh_recipients(count: int, start: int) -> list[str]:
    """`count` numbers no other call with another `start` range gives (recipients of a bulk
    send are mostly new: a number parsed before is answered from Herald's cache); every one
    ends `delivered` at the emulator."""
    codes = _area_codes()
    return [
        f"+1{codes[index % len(codes)]}{3_000_000 + index // len(codes)}"
        for index in range(start, start + count)
    ]


def send_requests(to: list[str], api_key: str) -> list[tuple[bytes, dict[str, str]]]:
    """A JSON send to each recipient."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    return [(f'{{"channel":"sms","to":"{each}","body":"{BODY}"}}'.encode(), headers) for each in to]


def callback_requests(
    url: str, sids: list[str], status: str, args: argparse.Namespace
) -> list[tuple[bytes, dict[str, str]]]:
    """Signed status callbacks, one per SID, each with its own idempotency token."""
    requests = []
    for sid in sids:
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": args.account_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": "+14155552671",
            "From": "+12015550123",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, form, args.auth_token),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        }
        requests.append((urlencode(form).encode(), headers))
    return requests


async def dispatch_floor(
    session: aiohttp.ClientSession, emulator: str, sender: str, count: int, args: argparse.Namespace
) -> Rate:
    """Bare POSTs of a message create (the form Herald sends, no callback) to the emulator."""
    token = base64.b64encode(f"{args.account_sid}:{args.auth_token}".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    bodies = [
        (urlencode({"To": to, "From": sender, "Body": BODY}).encode(), headers)
        for to in recipients(count)
    ]
    url = emulator + MESSAGES_PATH.format(account_sid=args.account_sid)
    return await post_all(session, url, bodies, args.concurrency, expect=201)


async def keep_backlog(url: str, count: int) -> None:
    """Cancel all but `count` accepted messages, so that dispatch is measured on `count`."""
    engine = create_engine(url)
    kept = select(messages.c.id).order_by(messages.c.id).limit(count).scalar_subquery()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(messages)
                .where(messages.c.status == "accepted", messages.c.id.not_in(kept))
                .values(status="canceled", next_attempt_at=None)
            )
    finally:
        await engine.dispose()


async def await_dispatch(url: str, total: int, server: Child) -> Rate:
    """Poll the outbox until nothing is `accepted`; hand-overs/s from the first to the last,
    and the server's CPU over the same span (its start-up excluded)."""
    engine = create_engine(url)
    query = select(func.count()).where(messages.c.status == "accepted")
    cpu = 0.0
    first = last = 0.0
    counted = total  # messages still to hand over when the first hand-over was seen
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    try:
        while True:
            async with engine.connect() as connection:
                left = int(await connection.scalar(query) or 0)
            moment = time.perf_counter()
            if left < total and not first:
                first, cpu, counted = moment, server.cpu(), left
            if left == 0:
                last = moment
                break
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{left} of {total} messages still accepted after {DISPATCH_TIMEOUT:.0f} s."
                )
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await engine.dispose()
    counted = max(counted, 1)
    used = server.cpu() - cpu
    return Rate(counted / max(last - first, POLL_SECONDS), cpu_us=used / counted * 1e6)


async def sent_sids(url: str, count: int) -> list[str]:
    """Provider SIDs of `count` dispatched messages."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(messages.c.provider_sid)
                .where(messages.c.provider_sid.is_not(None))
                .limit(count)
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


@dataclasses.dataclass(frozen=True)
class Setup:
    """One database, its emulator and how `herald serve` is started on them."""

    url: str
    emulator: str
    gateway: str
    api_key: str
    sender: str
    env: dict[str, str]


async def measure(kind: str, processes: int, args: argparse.Namespace) -> Figures:
    """Every figure on one database, `herald serve` running `processes` HTTP processes."""
    emulator_port, gateway_port = _free_port(), _free_port()
    emulator = f"http://127.0.0.1:{emulator_port}"
    connector = aiohttp.TCPConnector(limit=args.concurrency + 4)
    async with (
        scratch_database(kind, args) as url,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        with process(_self("emulator", emulator_port, args), emulator):
            await wait_ready(session, emulator + "/_emulator/health")
            key = generate_secret_key()
            api_key, sender = await provision(url, emulator, args, key)
            env = gateway_env(url, port=gateway_port, emulator=emulator, key=key, sender=sender)
            env |= {"HERALD_TWILIO_ACCOUNT_SID": args.account_sid}
            env |= {"HERALD_TWILIO_AUTH_TOKEN": args.auth_token}
            setup = Setup(url, emulator, f"http://127.0.0.1:{gateway_port}", api_key, sender, env)
            figures = Figures(kind, processes)
            setup.env["HERALD_PROCESSES"] = str(processes)
            figures.accepts = await measure_accepts(session, setup, args)
            await keep_backlog(url, args.dispatch)
            with process([HERALD, "serve"], setup.gateway, env) as gateway:
                figures.dispatch = await measure_dispatch(session, setup, gateway, args)
                figures.callbacks = await measure_callbacks(session, setup, gateway, args)
    return figures


async def measure_accepts(
    session: aiohttp.ClientSession, setup: Setup, args: argparse.Namespace
) -> list[tuple[Rate, Rate]]:
    """Rounds of one-row commits, then as many sends through `herald serve --no-worker`."""
    pairs = []
    url = setup.gateway + "/v1/messages"
    with process([HERALD, "serve", "--no-worker"], setup.gateway, setup.env) as gateway:
        await wait_ready(session, setup.gateway + "/healthz")
        warm_up = send_requests(fresh_recipients(WARM_UP, 0), setup.api_key)
        await post_all(session, url, warm_up, args.concurrency, expect=202)
        for number in range(args.rounds):
            ids = [f"fl_{number}_{index}" for index in range(args.messages)]
            floor = Rate(await commit_floor(setup.url, ids, args.concurrency, BODY))
            to = fresh_recipients(args.messages, WARM_UP + number * args.messages)
            sends = send_requests(to, setup.api_key)
            run = await post_all(session, url, sends, args.concurrency, expect=202, server=gateway)
            pairs.append((run, floor))
    return pairs


async def measure_dispatch(
    session: aiohttp.ClientSession, setup: Setup, gateway: Child, args: argparse.Namespace
) -> tuple[Rate, Rate]:
    """The worker's hand-overs of the backlog, then as many bare creates at the emulator."""
    run = await await_dispatch(setup.url, args.dispatch, gateway)
    await asyncio.sleep(SETTLE_SECONDS)
    floor = await dispatch_floor(session, setup.emulator, setup.sender, args.dispatch, args)
    return run, floor


async def measure_callbacks(
    session: aiohttp.ClientSession, setup: Setup, gateway: Child, args: argparse.Namespace
) -> list[tuple[Rate, Rate]]:
    """Rounds of HTTP + one UPDATE, then as many signed callbacks for dispatched messages."""
    pairs = []
    sids = await sent_sids(setup.url, args.dispatch)
    floor_port = _free_port()
    floor_url = f"http://127.0.0.1:{floor_port}"
    status_url = setup.gateway + STATUS_PATH
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    with process(_self("floor", floor_port, args, setup.url), floor_url):
        await wait_ready(session, floor_url + "/healthz")
        for number in range(args.rounds):
            # A status not yet reported for these messages each round, so none is a duplicate.
            status = ("sent", "delivered", "read")[number % 3]
            updates = [
                (
                    urlencode({"MessageSid": f"fl_0_{index}", "MessageStatus": status}).encode(),
                    plain,
                )
                for index in range(len(sids))
            ]
            floor = await post_all(
                session, floor_url + "/status", updates, args.concurrency, expect=200
            )
            callbacks = callback_requests(status_url, sids, status, args)
            run = await post_all(
                session, status_url, callbacks, args.concurrency, expect=200, server=gateway
            )
            pairs.append((run, floor))
    return pairs


# -- the report --------------------------------------------------------------------------------


def _median(rates: list[Rate]) -> Rate:
    return Rate(
        *(
            statistics.median(getattr(rate, name) for rate in rates)
            for name in ("per_s", "p50_ms", "p99_ms", "cpu_us")
        )
    )


def _table(title: str, pairs: list[tuple[Rate, Rate]], *, latency: bool) -> None:
    print(f"\n{title}\n")
    print("| round | Herald /s | p50 / p99 ms | Herald CPU µs each | floor /s | Herald ÷ floor |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [(str(number), run, floor) for number, (run, floor) in enumerate(pairs, 1)]
    runs, floors = [run for run, _ in pairs], [floor for _, floor in pairs]
    if len(pairs) > 1:
        rows.append(("median", _median(runs), _median(floors)))
    for label, run, floor in rows:
        timing = f"{run.p50_ms:.1f} / {run.p99_ms:.1f}" if latency else "-"
        print(
            f"| {label} | {run.per_s:,.0f} | {timing} | {run.cpu_us:,.0f} | {floor.per_s:,.0f} | "
            f"{run.per_s / floor.per_s:.0%} |"
        )


def report(args: argparse.Namespace, results: list[Figures]) -> None:
    """Print the Markdown tables."""
    print(f"Machine: {describe()}")
    print(
        f"{args.messages:,} requests per round, {args.concurrency} in flight, {args.rounds} rounds."
    )
    for figures in results:
        shared = (
            "1 HTTP process" if figures.processes == 1 else f"{figures.processes} HTTP processes"
        )
        print(f"\n### {figures.database}, {shared}")
        _table(
            "Accepted sends (`POST /v1/messages`) vs one-row commits", figures.accepts, latency=True
        )
        _table(
            "Status callbacks (`POST /webhooks/twilio/status`) vs HTTP + one UPDATE",
            figures.callbacks,
            latency=True,
        )
        if figures.dispatch is not None:
            _table(
                "Dispatch to the emulator vs bare aiohttp creates",
                [figures.dispatch],
                latency=False,
            )


def main() -> None:
    """Parse the command line, then drive the benchmark or serve one of its servers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=4000, help="sends per round")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--dispatch", type=int, default=1000, help="messages dispatched, and callbacks per round"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument(
        "--databases", default="postgresql,sqlite", help="postgresql, sqlite or both"
    )
    parser.add_argument(
        "--processes",
        default="1,2",
        help="`herald serve --processes` values to measure, comma-separated (above 1: PostgreSQL)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an existing database of a server where this may create and drop scratch databases",
    )
    parser.add_argument("--serve", choices=("emulator", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--account-sid", default="AC" + secrets.token_hex(16), help=argparse.SUPPRESS
    )
    parser.add_argument("--auth-token", default=secrets.token_hex(16), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args)
        return
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    if not kinds or set(kinds) - {"postgresql", "sqlite"}:
        parser.error("--databases takes postgresql, sqlite or both, separated by a comma.")
    if args.dispatch < 100 or args.dispatch > args.messages:
        parser.error("--dispatch must be at least 100 and at most --messages.")
    if args.messages < 100 or args.concurrency < 1 or args.rounds < 1:
        parser.error("give at least 100 --messages, 1 --concurrency and 1 --rounds.")

    try:
        counts = sorted({int(each) for each in args.processes.split(",") if each.strip()})
    except ValueError:
        parser.error("--processes takes whole numbers separated by commas, such as 1,2.")
    if not counts or counts[0] < 1:
        parser.error("--processes takes whole numbers of at least 1, such as 1,2.")
    runs = [(kind, n) for kind in kinds for n in counts if n == 1 or kind == "postgresql"]

    async def everything() -> list[Figures]:
        return [await measure(kind, n, args) for kind, n in runs]

    report(args, asyncio.run(everything()))


if __name__ == "__main__":
    main()
