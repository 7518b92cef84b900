"""Request size limits on every endpoint, and slow clients that cannot exhaust the server.

One real `herald serve` (sandbox, SQLite) with `HERALD_HTTP_READ_TIMEOUT_SECONDS=2`, reached over
raw sockets so that a test can do what no HTTP client does: announce 50 MB and send nothing,
stream a chunked body without end, trickle headers or a body a byte at a time.

- A body announced over 64 KiB is refused with 413 `request_too_large` at once, on the API, the
  Twilio webhooks and the admin sign-in alike, without Herald waiting for (or buffering) it; a
  chunked body is cut off once it passes 64 KiB.
- A body that does not arrive within the read timeout is answered 408 `request_timeout`.
- Headers that do not arrive within the read timeout get the connection closed; headers over
  64 KiB are answered 431.
- Hundreds of such slow connections at once (slowloris) do not stop a normal client from being
  served, and every one of them is closed by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import pytest

from tests.reliability.serve_process import ServedHerald, herald_serve
from tests.scaleout.cluster import soak_size

READ_TIMEOUT: Final = 2.0
ANSWER_SECONDS: Final = 20.0
"""How long a test waits for an answer or a close that must come (never a timing assertion)."""
LIMIT: Final = 64 * 1024
PROBLEM_TYPE: Final = "application/problem+json"
BODY_PATHS: Final = (
    "/v1/messages",
    "/v1/messages/preview",
    "/v1/verifications",
    "/v1/verifications/check",
    "/v1/webhook-endpoints",
    "/webhooks/twilio/status",
    "/webhooks/twilio/inbound",
    "/admin/login",
)
SLOW_HEADER_CLIENTS: Final = soak_size(250, 1000)
SLOW_BODY_CLIENTS: Final = soak_size(50, 200)


@pytest.fixture(scope="module")
def herald(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHerald]:
    """One `herald serve` for the module, with a 2-second read timeout."""
    home = tmp_path_factory.mktemp("limits")
    with herald_serve(
        home / "home",
        f"sqlite:///{home / 'herald.db'}",
        HERALD_HTTP_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
    ) as served:
        yield served


@contextlib.asynccontextmanager
async def connection(
    herald: ServedHerald,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw TCP connection to Herald, closed afterwards."""
    reader, writer = await asyncio.open_connection("127.0.0.1", herald.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def head(method: str, path: str, herald: ServedHerald, **headers: str) -> bytes:
    """A request line and headers (with the API key), ending with the blank line."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {herald.api_key}",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of one answer."""
    async with asyncio.timeout(ANSWER_SECONDS):
        status_line = await reader.readline()
        assert status_line, "the connection closed without an answer"
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in {b"\r\n", b""}:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def assert_problem(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> Any:
    """`answer` is a problem document with this status and code."""
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"] == PROBLEM_TYPE, headers
    document = json.loads(body)
    assert document["status"] == status
    assert document["code"] == code
    return document


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (read returns EOF or a reset) in time."""
    try:
        async with asyncio.timeout(ANSWER_SECONDS):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except OSError:
        return True  # a reset is a close too
    return True


async def trickle(
    writer: asyncio.StreamWriter,
    byte: bytes,
    every: float,
    until: asyncio.Task[Any],
    *,
    at_most: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Send `byte` every `every` seconds until `until` is done, `stop` is set or `at_most` were
    sent; a connection the server closed ends it too."""
    sent = 0
    with contextlib.suppress(OSError):
        while not until.done() and not (stop is not None and stop.is_set()):
            if at_most is not None and sent >= at_most:
                return
            writer.write(byte)
            await writer.drain()
            sent += 1
            await asyncio.sleep(every)


async def normal_request(herald: ServedHerald, index: int) -> tuple[int, float]:
    """A well-behaved client sending a message; its status and how long it took."""
    body = json.dumps({"to": f"+1628{2_000_000 + index:07d}", "body": "Normal client"}).encode()
    started = time.monotonic()
    async with connection(herald) as (reader, writer):
        writer.write(
            head(
                "POST",
                "/v1/messages",
                herald,
                Content_Type="application/json",
                Content_Length=str(len(body)),
            )
            + body
        )
        await writer.drain()
        status, _, _ = await read_answer(reader)
    return status, time.monotonic() - started


# -- size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BODY_PATHS)
async def test_announced_oversized_body_is_refused_before_it_is_sent(
    herald: ServedHerald, path: str
) -> None:
    """`Content-Length: 50000000` with no body sent: 413 comes at once, nothing is waited for."""
    async with connection(herald) as (reader, writer):
        writer.write(
            head(
                "POST",
                path,
                herald,
                Content_Type="application/x-www-form-urlencoded"
                if path.startswith(("/webhooks", "/admin"))
                else "application/json",
                Content_Length="50000000",
            )
        )
        await writer.drain()
        answer = await read_answer(reader)
        document = assert_problem(answer, 413, "request_too_large")
        assert document["max_bytes"] == LIMIT
        assert answer[1]["connection"] == "close"
        assert await closed_by_server(reader)


@pytest.mark.parametrize("path", ["/v1/messages", "/webhooks/twilio/inbound", "/admin/login"])
async def test_endless_chunked_body_is_cut_off_past_the_limit(
    herald: ServedHerald, path: str
) -> None:
    """A chunked body is counted as it arrives; 413 comes long before 4 MiB were sent."""
    chunk = b"a" * 8192
    async with connection(herald) as (reader, writer):
        writer.write(head("POST", path, herald, Transfer_Encoding="chunked"))
        answer_task = asyncio.create_task(read_answer(reader))
        sent = 0
        with contextlib.suppress(OSError):
            while not answer_task.done() and sent < 4 * 1024 * 1024:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
                await asyncio.sleep(0.002)
        answer = await answer_task
    assert_problem(answer, 413, "request_too_large")
    assert sent < 4 * 1024 * 1024, "Herald read the whole endless body before answering"


async def test_body_within_the_limit_is_taken(herald: ServedHerald) -> None:
    """The limit refuses only what is over it: a 60 KiB body reaches validation (422, not 413)."""
    body = json.dumps({"to": "+14155552671", "body": "x" * (60 * 1024)}).encode()
    assert len(body) < LIMIT
    async with connection(herald) as (reader, writer):
        writer.write(
            head(
                "POST",
                "/v1/messages",
                herald,
                Content_Type="application/json",
                Content_Length=str(len(body)),
            )
            + body
        )
        await writer.drain()
        assert_problem(await read_answer(reader), 422, "body_too_long")


async def test_oversized_headers_are_refused(herald: ServedHerald) -> None:
    """More than 64 KiB of headers is answered 431 and the connection closed."""
    async with connection(herald) as (reader, writer):
        # Just over the limit, and then nothing: the server reads it all before it answers,
        # so its close is clean and the answer is not lost to a reset.
        pads = "".join(f"X-Pad-{index}: {'a' * 1000}\r\n" for index in range(70))
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{pads}".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), ANSWER_SECONDS)
        assert status_line.split()[1] == b"431", status_line
        assert await closed_by_server(reader)


# -- time ---------------------------------------------------------------------------------------


async def trickled_body(
    herald: ServedHerald, *, length: int, every: float, at_most: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST /v1/messages announcing `length` bytes of JSON, then send a space every `every`
    seconds until answered; the answer."""
    async with connection(herald) as (reader, writer):
        writer.write(
            head(
                "POST",
                "/v1/messages",
                herald,
                Content_Type="application/json",
                Content_Length=str(length),
            )
        )
        answer_task = asyncio.create_task(read_answer(reader))
        await trickle(writer, b" ", every, answer_task, at_most=at_most)
        return await answer_task


async def test_trickled_body_is_answered_request_timeout(herald: ServedHerald) -> None:
    """A body sent a byte every half second is cut off after the read timeout with 408."""
    answer = await trickled_body(herald, length=200, every=0.5, at_most=200)
    document = assert_problem(answer, 408, "request_timeout")
    assert document["timeout_seconds"] == READ_TIMEOUT


@pytest.mark.parametrize("manner", ["idle", "trickled"])
async def test_headers_that_never_finish_get_the_connection_closed(
    herald: ServedHerald, manner: str
) -> None:
    """A connection that sends nothing, or headers a byte at a time, is closed by the server."""
    async with connection(herald) as (reader, writer):
        closing = asyncio.create_task(closed_by_server(reader))
        if manner == "trickled":
            writer.write(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await trickle(writer, b"a", 0.5, closing, at_most=int(ANSWER_SECONDS * 2))
        assert await closing


async def _slow_header_client(herald: ServedHerald, index: int, stop: asyncio.Event) -> bool:
    """A slowloris: a request line, then a header a byte every 0.3 s; whether it got closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", herald.port)
    try:
        writer.write(f"GET /v1/messages?n={index} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
        closing = asyncio.create_task(closed_by_server(reader))
        await trickle(writer, b"a", 0.3, closing, stop=stop)
        return await closing
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _slow_body_client(herald: ServedHerald) -> int:
    """A client trickling a body a byte every 0.3 s; the status it was answered."""
    status, _, _ = await trickled_body(herald, length=500, every=0.3)
    return status


async def test_slow_clients_do_not_starve_a_normal_client(herald: ServedHerald) -> None:
    """Hundreds of slowloris connections and trickled bodies at once: normal requests are all
    served meanwhile, every slow header connection is closed, every slow body answered 408."""
    baseline = [await normal_request(herald, index) for index in range(10)]
    stop = asyncio.Event()
    slow_headers = [
        asyncio.create_task(_slow_header_client(herald, index, stop))
        for index in range(SLOW_HEADER_CLIENTS)
    ]
    slow_bodies = [asyncio.create_task(_slow_body_client(herald)) for _ in range(SLOW_BODY_CLIENTS)]
    await asyncio.sleep(0.5)  # let every slow client connect and start trickling
    during = [await normal_request(herald, 100 + index) for index in range(30)]
    try:
        closed = await asyncio.gather(*slow_headers)
        body_statuses = await asyncio.gather(*slow_bodies)
    finally:
        stop.set()
    assert [status for status, _ in baseline] == [202] * len(baseline)
    assert [status for status, _ in during] == [202] * len(during)
    assert all(closed), f"{closed.count(False)} slow header connections were never closed"
    assert body_statuses == [408] * SLOW_BODY_CLIENTS
    print(  # noqa: T201 - the figures in docs/reliability.md
        f"{SLOW_HEADER_CLIENTS} slow-header and {SLOW_BODY_CLIENTS} slow-body clients; "
        f"normal request median {statistics.median(t for _, t in baseline) * 1000:.1f} ms "
        f"before, {statistics.median(t for _, t in during) * 1000:.1f} ms during, "
        f"max {max(t for _, t in during) * 1000:.1f} ms"
    )
    assert "Traceback" not in herald.output(), herald.output()


async def test_the_server_kept_running(herald: ServedHerald) -> None:
    """After everything above, the process is alive and serves."""
    assert herald.process.poll() is None
    status, _ = await normal_request(herald, 999)
    assert status == 202
    assert "Traceback" not in herald.output(), herald.output()
