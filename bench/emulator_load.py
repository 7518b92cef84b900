"""Message creates per second through the Twilio emulator, with status callbacks on.

    .venv/bin/python bench/emulator_load.py [--messages N] [--concurrency C] [--rounds R]
        [--senders S] [--step-seconds X]

Three servers run in their own processes on loopback ports, each under uvicorn (httptools,
uvloop, no access log) or aiohttp:

- the emulator, with per-sender throughput off (a US long code would otherwise deliver one
  message a second) and `--step-seconds` between status steps;
- a callback receiver (aiohttp) that counts the status callbacks and notes when the last came;
- the floor: a minimal Starlette app that parses the same form (`parse_qsl`, as the emulator
  does) and answers a fixed 201 JSON.

This process drives both with aiohttp (keep-alive, `--concurrency` requests in flight). Each
round resets the emulator, buys `--senders` numbers through its control API, creates
`--messages` messages with a `StatusCallback` to recipients that end `delivered` (so two
callbacks each: `sent` and `delivered`), waits for every callback, then sends as many POSTs to
the floor. The report is one Markdown row per round and their medians; the ratio to the floor
measured in the same round is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import json
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
import uvicorn
from aiohttp import web
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent))

from herald.domain.phone import parse_address
from herald.emulator import EmulatorConfig, create_app
from herald.errors import InvalidPhoneNumber
from machine import describe, tree_cpu_seconds

MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
BODY = "Your order 4471 has shipped and arrives on Tuesday. Track it: https://t.example/4471"
CALLBACKS_PER_MESSAGE = 2  # `sent` and `delivered`: no callback for `queued` nor `sending`
START_TIMEOUT = 20.0
CALLBACK_TIMEOUT = 120.0
POLL_SECONDS = 0.05
# A Message resource as the emulator answers it, so that the floor sends as many bytes.
FLOOR_ANSWER = json.dumps(
    {
        "account_sid": "AC" + "0" * 32,
        "api_version": "2010-04-01",
        "body": BODY,
        "date_created": "Thu, 05 Nov 2026 10:00:00 +0000",
        "date_sent": None,
        "date_updated": "Thu, 05 Nov 2026 10:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "+12015550123",
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": None,
        "sid": "SM" + "0" * 32,
        "status": "queued",
        "subresource_uris": {"media": "/x/Media.json", "feedback": "/x/Feedback.json"},
        "to": "+12015550100",
        "uri": "/2010-04-01/Accounts/AC/Messages/SM.json",
    }
).encode()


# -- the servers, each run as `emulator_load.py --serve KIND` in a process of its own ----------


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _serve_asgi(app: Starlette, sock: socket.socket) -> None:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", ws="none")
    uvicorn.Server(config).run(sockets=[sock])


def _floor_app() -> Starlette:
    async def create(request: Request) -> Response:
        # Parsed as the emulator parses it (Starlette's form() needs python-multipart).
        parse_qsl((await request.body()).decode(), keep_blank_values=True)
        return Response(FLOOR_ANSWER, status_code=201, media_type="application/json")

    async def health(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[
            Route(MESSAGES_PATH.replace("{account_sid}", "{sid}"), create, methods=["POST"]),
            Route("/health", health),
        ]
    )


@dataclasses.dataclass
class Tally:
    """The callbacks a receiver has seen; `last` is on the monotonic clock all processes share.

    `count` counts distinct events (by `I-Twilio-Idempotency-Token`, as an application would
    de-duplicate them); `duplicates` the deliveries of an event already received.
    """

    count: int = 0
    duplicates: int = 0
    last: float = 0.0
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)


def _receiver_app() -> web.Application:
    tally = Tally()
    tokens: set[str] = set()
    # Each round posts to its own path, so that a late retry of an earlier round is not counted.
    current = {"round": ""}

    async def callback(request: web.Request) -> web.Response:
        status = str((await request.post()).get("MessageStatus", ""))
        token = request.headers.get("I-Twilio-Idempotency-Token", "")
        if request.match_info["round"] != current["round"]:
            return web.Response()
        if token in tokens:
            tally.duplicates += 1
        else:
            tokens.add(token)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            tally.count += 1
            tally.last = time.perf_counter()
        return web.Response()

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(dataclasses.asdict(tally))

    async def reset(request: web.Request) -> web.Response:
        current["round"] = request.match_info["round"]
        tally.count, tally.duplicates, tally.last = 0, 0, 0.0
        tally.statuses.clear()
        tokens.clear()
        return web.json_response({})

    app = web.Application()
    app.add_routes(
        [
            web.post("/status/{round}", callback),
            web.get("/stats", stats),
            web.post("/reset/{round}", reset),
        ]
    )
    return app


def serve(kind: str, args: argparse.Namespace) -> None:
    """Serve one of the three servers; print its port on the first line of stdout."""
    sock = _listen()
    port = sock.getsockname()[1]
    print(port, flush=True)
    if kind == "receiver":
        web.run_app(_receiver_app(), sock=sock, print=None, access_log=None)
    elif kind == "floor":
        _serve_asgi(_floor_app(), sock)
    else:
        config = EmulatorConfig(
            account_sid=args.account_sid,
            auth_token=args.auth_token,
            port=port,
            throughput_enabled=False,
            delivery_step_seconds=args.step_seconds,
        )
        _serve_asgi(create_app(config), sock)


@dataclasses.dataclass
class Child:
    """A server process and the base URL it listens on."""

    process: subprocess.Popen[str]
    base_url: str

    def cpu(self) -> float:
        """CPU seconds the server (with the processes it started) has used so far."""
        return tree_cpu_seconds(self.process.pid)


@contextlib.contextmanager
def child(kind: str, args: argparse.Namespace) -> Iterator[Child]:
    """Start `--serve KIND` in a new process; stop it when the block ends."""
    command = [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--account-sid",
        args.account_sid,
        "--auth-token",
        args.auth_token,
        "--step-seconds",
        str(args.step_seconds),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - this very script
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield Child(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(10)


# -- the driver --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    """What one batch of POSTs measured."""

    creates_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_create: float
    callbacks_per_s: float = 0.0
    duplicates: float = 0.0


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    """Poll `url` until it answers 200."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as response:
                if response.status == 200:
                    return
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {START_TIMEOUT:.0f} s.")
        await asyncio.sleep(POLL_SECONDS)


async def post_all(
    session: aiohttp.ClientSession,
    url: str,
    forms: list[dict[str, str]],
    concurrency: int,
    headers: dict[str, str],
) -> tuple[float, float, list[float]]:
    """POST every form with `concurrency` in flight; (start, end, latencies in seconds)."""
    latencies: list[float] = []
    # Encoded up front, so that the driver spends its time on HTTP and not on forms.
    queue = iter([urlencode(form).encode() for form in forms])
    headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}

    async def worker() -> None:
        for form in queue:
            started = time.perf_counter()
            async with session.post(url, data=form, headers=headers) as response:
                await response.read()
                if response.status != 201:
                    raise SystemExit(
                        f"POST {url} answered {response.status}: {await response.text()}"
                    )
            latencies.append(time.perf_counter() - started)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return start, time.perf_counter(), latencies


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def can_text(number: str) -> bool:
    """Whether Herald takes `number` as an SMS recipient."""
    try:
        return parse_address(number).number.can_receive_sms
    except InvalidPhoneNumber:
        return False


def recipients(count: int) -> list[str]:
    """`count` numbers that end `delivered`: `+1 NPA 555 01 0X` across the valid area codes."""
    area_codes = [npa for npa in range(201, 1000) if can_text(f"+1{npa}5550100")]
    return [
        f"+1{area_codes[(index // 10) % len(area_codes)]}5550{100 + index % 10}"
        for index in range(count)
    ]


async def measure_floor(
    session: aiohttp.ClientSession, floor: Child, args: argparse.Namespace
) -> Run:
    """POST `--messages` forms to the floor app."""
    url = floor.base_url + MESSAGES_PATH.format(account_sid=args.account_sid)
    forms = [
        {"To": to, "From": "+12015550123", "Body": BODY, "StatusCallback": "http://127.0.0.1/s"}
        for to in recipients(args.messages)
    ]
    cpu = floor.cpu()
    start, end, latencies = await post_all(session, url, forms, args.concurrency, {})
    p50, p99 = _percentiles(latencies)
    used = floor.cpu() - cpu
    return Run(args.messages / (end - start), p50, p99, used / args.messages * 1e6)


async def measure_emulator(
    session: aiohttp.ClientSession, emulator: Child, receiver: Child, args: argparse.Namespace
) -> Run:
    """Reset the emulator, buy numbers, create `--messages` messages and await every callback."""
    async with session.post(emulator.base_url + "/_emulator/reset") as response:
        response.raise_for_status()
    async with session.post(
        emulator.base_url + "/_emulator/seed", json={"numbers": args.senders}
    ) as response:
        response.raise_for_status()
        senders = [number["phone_number"] for number in (await response.json())["numbers"]]
    round_id = secrets.token_hex(4)
    async with session.post(f"{receiver.base_url}/reset/{round_id}") as response:
        response.raise_for_status()
    callback_url = f"{receiver.base_url}/status/{round_id}"
    forms = [
        {
            "To": to,
            "From": senders[index % len(senders)],
            "Body": BODY,
            "StatusCallback": callback_url,
        }
        for index, to in enumerate(recipients(args.messages))
    ]
    token = base64.b64encode(f"{args.account_sid}:{args.auth_token}".encode()).decode()
    url = emulator.base_url + MESSAGES_PATH.format(account_sid=args.account_sid)
    cpu = emulator.cpu()
    start, end, latencies = await post_all(
        session, url, forms, args.concurrency, {"Authorization": f"Basic {token}"}
    )
    expected = args.messages * CALLBACKS_PER_MESSAGE
    stats = await _await_callbacks(session, receiver.base_url + "/stats", expected)
    used = emulator.cpu() - cpu
    p50, p99 = _percentiles(latencies)
    return Run(
        creates_per_s=args.messages / (end - start),
        p50_ms=p50,
        p99_ms=p99,
        cpu_us_per_create=used / args.messages * 1e6,
        callbacks_per_s=expected / (stats.last - start),
        duplicates=stats.duplicates,
    )


async def _await_callbacks(session: aiohttp.ClientSession, url: str, expected: int) -> Tally:
    deadline = time.monotonic() + CALLBACK_TIMEOUT
    while True:
        async with session.get(url) as response:
            stats = Tally(**await response.json())
        if stats.count == expected:
            return stats
        if time.monotonic() > deadline:
            raise SystemExit(f"Only {stats.count} of {expected} callbacks arrived: {stats}.")
        await asyncio.sleep(POLL_SECONDS)


async def drive(args: argparse.Namespace) -> list[tuple[Run, Run]]:
    """Every round: the emulator, then the floor; returns (emulator, floor) per round."""
    results: list[tuple[Run, Run]] = []
    with (
        child("emulator", args) as emulator,
        child("floor", args) as floor,
        child("receiver", args) as receiver,
    ):
        connector = aiohttp.TCPConnector(limit=args.concurrency + 4)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, emulator.base_url + "/_emulator/health")
            await wait_ready(session, floor.base_url + "/health")
            await wait_ready(session, receiver.base_url + "/stats")
            warm = argparse.Namespace(**{**vars(args), "messages": min(args.messages, 1000)})
            await measure_emulator(session, emulator, receiver, warm)
            await measure_floor(session, floor, warm)
            for _ in range(args.rounds):
                run = await measure_emulator(session, emulator, receiver, args)
                results.append((run, await measure_floor(session, floor, args)))
    return results


# -- the report --------------------------------------------------------------------------------


def _row(label: str, emulator: Run, floor: Run) -> str:
    return (
        f"| {label} | {emulator.creates_per_s:,.0f} | {emulator.callbacks_per_s:,.0f} | "
        f"{emulator.p50_ms:.1f} / {emulator.p99_ms:.1f} | {emulator.cpu_us_per_create:,.0f} | "
        f"{floor.creates_per_s:,.0f} | {floor.p50_ms:.1f} / {floor.p99_ms:.1f} | "
        f"{floor.cpu_us_per_create:,.0f} | {floor.creates_per_s / emulator.creates_per_s:.1f} | "
        f"{emulator.duplicates:,.0f} |"
    )


def _median(runs: list[Run]) -> Run:
    return Run(
        *(
            statistics.median(getattr(run, field.name) for run in runs)
            for field in dataclasses.fields(Run)
        )
    )


def report(args: argparse.Namespace, results: list[tuple[Run, Run]]) -> None:
    """Print the Markdown table."""
    print(f"Machine: {describe()}\n")
    print(
        f"{args.messages:,} messages per round, {args.concurrency} in flight, "
        f"{args.senders} senders, throughput off, {args.step_seconds} s between status steps, "
        f"{CALLBACKS_PER_MESSAGE} callbacks per message.\n"
    )
    print(
        "| round | creates/s | callbacks/s | p50 / p99 ms | server CPU µs/create | "
        "floor creates/s | floor p50 / p99 ms | floor CPU µs/create | x floor | duplicates |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for number, (emulator, floor) in enumerate(results, 1):
        print(_row(str(number), emulator, floor))
    emulators = [emulator for emulator, _ in results]
    floors = [floor for _, floor in results]
    print(_row("median", _median(emulators), _median(floors)))


def main() -> None:
    """Parse the command line, then drive the benchmark or serve one of its servers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages per round")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the medians are reported")
    parser.add_argument("--senders", type=int, default=10, help="numbers to send from (1-50)")
    parser.add_argument(
        "--step-seconds", type=float, default=0.02, help="the emulator's delivery step"
    )
    parser.add_argument(
        "--serve", choices=("emulator", "floor", "receiver"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--account-sid", default="AC" + secrets.token_hex(16), help=argparse.SUPPRESS
    )
    parser.add_argument("--auth-token", default=secrets.token_hex(16), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args)
        return
    if args.messages < 100 or args.concurrency < 1 or args.rounds < 1:
        parser.error("give at least 100 --messages, 1 --concurrency and 1 --rounds.")
    if not 1 <= args.senders <= 50:
        parser.error("--senders must be 1 to 50.")
    report(args, asyncio.run(drive(args)))


if __name__ == "__main__":
    main()
