"""A cap on request bodies, enforced before any route reads them.

The largest legitimate request is a message: 1,600 characters of body (up to 6.4 KB as UTF-8),
ten media URLs and some metadata. 64 KiB leaves ample room while keeping a client (or an
attacker) from making Herald buffer megabytes. A body announced larger by `Content-Length` is
refused at once; a chunked body is counted as it streams and refused when it passes the cap.

A body must also arrive within `read_timeout` seconds of the request's headers
(`HERALD_HTTP_READ_TIMEOUT_SECONDS`): a client that trickles its body, or stalls half way, is
answered `request_timeout` (408) and the connection closed, so that slow clients cannot each hold
a request open for as long as they like. (The headers have their own deadline, enforced by the
HTTP server: `herald.http_server`.)
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.api.problems import PROBLEM_MEDIA_TYPE
from herald.domain.problems import ProblemCode, ProblemError

DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024
DEFAULT_READ_TIMEOUT: Final = 15.0


class BodySizeLimit:
    """ASGI middleware answering `request_too_large` (413) to bodies over `max_bytes`, and
    `request_timeout` (408) to bodies that take longer than `read_timeout` seconds to arrive.

    The body is read here, before the app sees the request, and handed on unchanged: a refusal
    raised from inside the app's own body reading would be reported as a malformed body.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._app = app
        self._max = max_bytes
        self._read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        announced = _content_length(scope)
        if announced is not None and announced > self._max:
            await self._refuse(scope, send, f"announces {announced:,} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._read_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        break  # the client went away before sending its body
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self._max:
                        await self._refuse(scope, send, f"has more than {self._max:,} bytes")
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            problem = ProblemError(
                ProblemCode.REQUEST_TIMEOUT,
                f"The request body did not arrive within {self._read_timeout:g} seconds "
                f"({size:,} bytes came).",
                timeout_seconds=self._read_timeout,
            )
            await send_problem(scope, send, problem)
            return
        if message["type"] != "http.request":
            await self._app(scope, replay([message], receive), send)  # let the app see it
            return
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self._app(scope, replay([whole], receive), send)

    async def _refuse(self, scope: Scope, send: Send, what: str) -> None:
        problem = ProblemError(
            ProblemCode.REQUEST_TOO_LARGE,
            f"The request body {what}; Herald takes at most {self._max:,} bytes.",
            max_bytes=self._max,
        )
        await send_problem(scope, send, problem)


async def send_problem(scope: Scope, send: Send, problem: ProblemError) -> None:
    """Answer `problem`'s document from a middleware and close the connection.

    The connection is closed because the request's body may not have been read: what is left
    of it must not be taken for the next request.
    """
    body = json.dumps(problem.document(instance=scope.get("path"))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_all(receive: Receive) -> list[Message]:
    """The request's messages up to its last body part (or a disconnect), for `replay`."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that returns `messages` first, then what `receive` returns."""
    pending = list(messages)

    async def replaying_receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying_receive
