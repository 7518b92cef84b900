"""Helpers for the provider tests: the emulator on a loopback port, and small raw servers.

The emulator runs with uvicorn in a background thread (its own event loop) on 127.0.0.1 with a
`ManualClock`, as in the emulator's own tests, so the client under test talks to it over real
HTTP. The raw servers misbehave on purpose (hang after reading a request, reset the
connection, answer with chosen headers) to show how each failure is classified.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import uvicorn
from starlette.applications import Starlette

from herald.emulator import EmulatorConfig, EmulatorState, ManualClock, create_app

START_TIMEOUT = 10.0
RECIPIENT = "+14155552671"


@dataclasses.dataclass(frozen=True)
class RunningEmulator:
    """An emulator serving on a loopback port."""

    base_url: str
    config: EmulatorConfig
    state: EmulatorState
    clock: ManualClock

    def url(self, path: str) -> str:
        """The absolute URL of a path on this emulator."""
        return self.base_url + path


def free_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_emulator() -> Iterator[RunningEmulator]:
    """Serve a fresh emulator until the block ends, then stop it."""
    sock = free_socket()
    clock = ManualClock()
    config = EmulatorConfig(port=sock.getsockname()[1])
    app: Starlette = create_app(config, clock=clock)
    emulator = app.state.emulator
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the emulator did not start")
            time.sleep(0.01)
        yield RunningEmulator(
            base_url=config.base_url, config=config, state=emulator.state, clock=clock
        )
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


def account_headers(emulator: RunningEmulator) -> dict[str, str]:
    """The `Authorization` header of the emulator's main account."""
    token = aiohttp.encode_basic_auth(emulator.config.account_sid, emulator.config.auth_token)
    return {"Authorization": token}


async def control(
    session: aiohttp.ClientSession,
    emulator: RunningEmulator,
    method: str,
    path: str,
    body: dict[str, Any],
) -> Any:
    """Call the emulator's control API (`/_emulator/...`) with a JSON body."""
    async with session.request(method, emulator.url(path), json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def seed_numbers(
    session: aiohttp.ClientSession, emulator: RunningEmulator, *, service: bool = False
) -> dict[str, Any]:
    """Buy a US number for the main account (and a Messaging Service holding it)."""
    body: dict[str, Any] = {"numbers": 1}
    if service:
        body["messaging_service"] = {"friendly_name": "Herald tests"}
    result: dict[str, Any] = await control(session, emulator, "POST", "/_emulator/seed", body)
    return result


async def set_chaos(
    session: aiohttp.ClientSession, emulator: RunningEmulator, settings: dict[str, Any]
) -> dict[str, Any]:
    """Replace the emulator's chaos settings for every account."""
    result: dict[str, Any] = await control(session, emulator, "PUT", "/_emulator/chaos", settings)
    return result


async def chaos_counts(session: aiohttp.ClientSession, emulator: RunningEmulator) -> Any:
    """How many requests met each chaos fault so far."""
    async with session.get(emulator.url("/_emulator/chaos")) as response:
        return (await response.json())["default"]["counts"]


async def _read_request(reader: asyncio.StreamReader) -> None:
    """Read one HTTP request with a Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)


@asynccontextmanager
async def misbehaving_server(behaviour: str) -> AsyncIterator[str]:
    """A raw HTTP server on 127.0.0.1 that reads each request whole, then misbehaves.

    `hang`: never answers. `reset`: aborts the connection with a TCP reset (SO_LINGER 0).
    Yields the server's base URL.
    """
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        if behaviour == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        await release.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def answering_server(status: int, body: bytes, headers: dict[str, str]) -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 answering every request with `status`, `body`, `headers`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        lines = [f"HTTP/1.1 {status} Status", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port
