"""`GET /events`: the event bus as Server-Sent Events, for the inbox's pages.

The same stream as `/_emulator/events` (`?types=a,b` narrows it, one `event:`/`id:`/`data:`
block per event, a keep-alive comment after quiet spells), but it ends the moment the browser
goes away. Under ASGI 2.4 Starlette's `StreamingResponse` notices a vanished client only at its
next write, which on a quiet emulator is the next keep-alive; a closed tab would hold its
subscription, and keep a stopping server waiting, until then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from herald.emulator.activity import KEEP_ALIVE_SECONDS, format_event
from herald.emulator.events import Subscription
from herald.emulator.routing import emulator_of

RETRY_MS = 1000
"""How soon a browser reconnects after losing the stream (the page then refreshes itself)."""


class EventStream(StreamingResponse):
    """One subscription's events, written until the client disconnects."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__(
            _blocks(subscription),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002 - ASGI signature
        """Stream until the client leaves (or the subscription closes), then unsubscribe."""
        writer = asyncio.ensure_future(self.stream_response(send))
        listener = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait({writer, listener}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.subscription.close()
            for task in (writer, listener):
                task.cancel()
            for task in (writer, listener):
                # A write to a client that has gone raises OSError: that is the end we expect.
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task


async def _blocks(subscription: Subscription) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    while not subscription.closed:
        try:
            async with asyncio.timeout(KEEP_ALIVE_SECONDS):
                event = await subscription.next()
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        if event is not None:
            yield format_event(event)


async def events(request: Request) -> Response:
    """`GET /events`: Server-Sent Events until the browser goes away."""
    types = frozenset(filter(None, request.query_params.get("types", "").split(",")))
    return EventStream(emulator_of(request).state.events.subscribe(types))
