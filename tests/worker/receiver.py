"""An application's webhook endpoint for the tests: records requests, answers as scripted."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the endpoint received."""

    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next scripted status (200 once the script is empty)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[int] = deque()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request and answer it."""
        self.requests.append(Received(dict(request.headers), await request.read()))
        return web.Response(status=self.script.popleft() if self.script else 200)


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver served on a free loopback port until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield receiver
    finally:
        await runner.cleanup()
