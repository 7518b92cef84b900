"""A cap on request bodies, enforced before any route reads them.

The largest legitimate request is a message: 1,600 characters of body (up to 6.4 KB as UTF-8),
ten media URLs and some metadata. 64 KiB leaves ample room while keeping a client (or an
attacker) from making Herald buffer megabytes. A body announced larger by `Content-Length` is
refused at once; a chunked body is counted as it streams and refused when it passes the cap.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.api.problems import PROBLEM_MEDIA_TYPE
from herald.domain.problems import ProblemCode, ProblemError

DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024


class BodySizeLimit:
    """ASGI middleware answering `request_too_large` (413) to bodies over `max_bytes`.

    The body is read here, before the app sees the request, and handed on unchanged: a refusal
    raised from inside the app's own body reading would be reported as a malformed body.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self._app = app
        self._max = max_bytes

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
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its body; let the app see that.
                await self._app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max:
                await self._refuse(scope, send, f"has more than {self._max:,} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self._app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, send: Send, what: str) -> None:
        problem = ProblemError(
            ProblemCode.REQUEST_TOO_LARGE,
            f"The request body {what}; Herald takes at most {self._max:,} bytes.",
            max_bytes=self._max,
        )
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


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replaying_receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying_receive
