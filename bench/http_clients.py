"""Concurrent form POSTs per second to a local server: aiohttp (Herald's client) against httpx.

    .venv/bin/python bench/http_clients.py [--requests N] [--concurrency C] [--rounds R]

Why: the worker's outbound POSTs to Twilio are its hot path, and PERF-FLOOR.md measured httpx's
pool scaling poorly with concurrency. This script measures both clients the same way, in the
same run, against the same minimal ASGI app under uvicorn (started as a child process, so the
server does not share the clients' event loop): one client object each, `C` requests in
flight, keep-alive, a 318-byte form body like a Messages create. It prints a Markdown table of
the median requests per second over `R` rounds, interleaved.

httpx is installed with the development tools only for this comparison; Herald itself does not
use it. It is async HTTP, so it does not fit the synchronous `Pair` harness of `run.py` and runs
on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import uvicorn

BODY = (
    b"To=%2B14155552671&From=%2B14155550100&Body=Your+order+%231042+has+shipped+and+will+arrive"
    b"+tomorrow+between+9+and+12.+Track+it+at+https%3A%2F%2Fexample.com%2Ft%2F1042&StatusCallback"
    b"=https%3A%2F%2Fherald.example.com%2Fwebhooks%2Ftwilio%2Fstatus&SmartEncoded=true&Validity"
    b"Period=600&ForceDelivery=false&MessagingServiceSid=MG00000000000000000000000000000000"
)
RESPONSE = b'{"sid": "SM00000000000000000000000000000000", "status": "queued"}'
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The minimal server: read the form, answer 201 with a small JSON body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": RESPONSE})


def serve(port: int) -> None:
    """Run the minimal server on 127.0.0.1:`port` until killed."""
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the benchmark server did not start on port {port}")


async def drive(post: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> float:
    """Requests per second for `requests` POSTs with `concurrency` of them in flight."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def with_aiohttp(url: str, requests: int, concurrency: int) -> float:
    """One aiohttp session, its connection pool sized to the concurrency."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()
                assert response.status == 201

        await drive(post, concurrency, concurrency)  # warm the pool
        return await drive(post, requests, concurrency)


async def with_httpx(url: str, requests: int, concurrency: int) -> float:
    """One httpx AsyncClient, its pool sized to the concurrency."""
    httpx: Any = importlib.import_module("httpx")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def post() -> None:
            response = await client.post(url, content=BODY, headers=HEADERS)
            assert response.status_code == 201

        await drive(post, concurrency, concurrency)
        return await drive(post, requests, concurrency)


def httpx_version() -> str | None:
    """httpx's version, or None when it is not installed."""
    try:
        module: Any = importlib.import_module("httpx")
    except ImportError:
        return None
    return str(module.__version__)


def main() -> None:
    """Start the server, measure both clients interleaved, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])  # noqa: S603
    try:
        wait_for(port)
        url = f"http://127.0.0.1:{port}/2010-04-01/Accounts/AC0/Messages.json"
        version = httpx_version()
        results: dict[str, list[float]] = {"aiohttp": [], "httpx": []}
        for _ in range(args.rounds):
            results["aiohttp"].append(
                asyncio.run(with_aiohttp(url, args.requests, args.concurrency))
            )
            if version is not None:
                results["httpx"].append(
                    asyncio.run(with_httpx(url, args.requests, args.concurrency))
                )
    finally:
        server.terminate()
        server.wait()
    floor = statistics.median(results["aiohttp"])
    print(
        f"{args.requests} form POSTs, {args.concurrency} in flight, keep-alive, "
        f"median of {args.rounds} rounds\n"
    )
    print("| client | requests/s | x aiohttp |")
    print("|---|---:|---:|")
    print(f"| aiohttp {aiohttp.__version__} | {floor:,.0f} | 1.00 |")
    if version is None:
        print("| httpx | not installed | |")
    else:
        rate = statistics.median(results["httpx"])
        print(f"| httpx {version} | {rate:,.0f} | {rate / floor:.2f} |")


if __name__ == "__main__":
    main()
