"""A real Herald on a socket of the test's own, raw HTTP to it, and whole-database snapshots.

    async with running_herald(database_url) as herald:   # migrated, serving, no worker
        answer = await raw_http(herald.port, request_bytes)
        before = await snapshot(herald.engine)

`raw_http` writes bytes exactly as given, so a test can send what no HTTP client would: a body
shorter than its `Content-Length`, a chunked body past the limit, duplicated parameters.
`snapshot` reads every row of every table of Herald's schema, so "changes nothing" is checked
on the whole database, not on the tables a test thought of.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.gateway import Gateway
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.migrate import upgrade
from herald.storage.schema import metadata

PUBLIC_URL: Final = "https://herald.example.com"
ADMIN_KEY: Final = "admin-key-for-the-hostile-tests"
ANSWER_SECONDS: Final = 30.0

Snapshot = dict[str, list[str]]


@dataclasses.dataclass(frozen=True)
class RunningHerald:
    """A gateway serving on 127.0.0.1:`port` (API, webhooks, admin, metrics; no worker)."""

    gateway: Gateway
    port: int
    box: SecretBox

    @property
    def engine(self) -> AsyncEngine:
        """The gateway's database engine."""
        return self.gateway.engine

    @property
    def base(self) -> str:
        """Where it answers."""
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def running_herald(database_url: str) -> AsyncIterator[RunningHerald]:
    """Herald on a migrated `database_url`, behind `PUBLIC_URL`, with an admin key."""
    await upgrade(database_url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    settings = Settings(
        database_url=database_url,
        secret_key=generate_secret_key(),
        port=port,
        public_url=PUBLIC_URL,
        admin_key=ADMIN_KEY,
    )
    gateway = Gateway(settings, run_worker=False)
    await gateway.start(sockets=[sock])
    try:
        yield RunningHerald(gateway, port, SecretBox(settings.secret_key))
    finally:
        await gateway.stop()
        sock.close()


@dataclasses.dataclass(frozen=True)
class RawAnswer:
    """What came back: the status (None if the connection closed first), headers, body."""

    status: int | None
    headers: dict[str, str]
    body: bytes


def http_request(
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_length: int | None = None,
) -> bytes:
    """The bytes of an HTTP/1.1 request; `Content-Length` is the body's unless given."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if not any(name.lower() == "transfer-encoding" for name, _ in headers or []):
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def raw_http(port: int, request: bytes, *, close_after_sending: bool = False) -> RawAnswer:
    """Send `request` as is and read the answer until the server closes the connection.

    `close_after_sending` shuts the sending side once the bytes are out: a body shorter than
    its `Content-Length` then ends as a truncated upload does.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        if close_after_sending:
            writer.write_eof()
        async with asyncio.timeout(ANSWER_SECONDS):
            received = await reader.read(-1)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return _parse(received)


def _parse(received: bytes) -> RawAnswer:
    if not received:
        return RawAnswer(None, {}, b"")
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return RawAnswer(int(status_line.split()[1]), headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Every row of every table of Herald's schema, each table's rows sorted."""
    tables: Snapshot = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables whose rows differ between two snapshots."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
