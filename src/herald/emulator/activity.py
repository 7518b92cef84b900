"""What happened, for the developer: the webhook log and the live event stream.

- `GET /_emulator/webhooks` — every webhook attempt the emulator made (status callbacks and
  incoming-message webhooks), oldest first: URL, method, parameters, status code or transport
  error, latency, signature, idempotency token, attempt number and the start of the answer.
  Filters: `account_sid`, `resource_sid` (a message SID), `event` (`sent`, `delivered`, …,
  `incoming`, `incoming-fallback`), `outcome` (`ok` or `failed`); `limit` keeps the newest N
  (default 100, at most 1000).
- `GET /_emulator/events` — the event bus as Server-Sent Events: one `event:`/`id:`/`data:`
  block per event (data is JSON), a `: keep-alive` comment every 15 seconds of silence;
  `?types=message.status,webhook.delivered` narrows the stream.

`lifespan` connects the Messages runtime to the bus for as long as the app runs: every status
change becomes `message.status`, every logged webhook attempt `webhook.delivered`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Final

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.callbacks import WebhookDelivery
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.events import Event
from herald.emulator.inbound import webhook_view
from herald.emulator.message_store import Message
from herald.emulator.messages import render
from herald.emulator.messaging import messaging
from herald.emulator.routing import Emulator, emulator_of
from herald.emulator.wire import iso8601, json_response

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
KEEP_ALIVE_SECONDS: Final = 15.0
OUTCOMES: Final = ("ok", "failed")


async def list_webhooks(request: Request) -> Response:
    """`GET /_emulator/webhooks`."""
    query = request.query_params
    outcome = query.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise errors.invalid_parameter(f"Invalid outcome {outcome!r}: give ok or failed.")
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise errors.invalid_parameter(f"Invalid limit {raw_limit!r}: give 1 to {MAX_LIMIT}.")
    entries = messaging(emulator_of(request).state).webhooks.entries(
        resource_sid=query.get("resource_sid") or None,
        account_sid=query.get("account_sid") or None,
    )
    event = query.get("event")
    kept = [
        entry
        for entry in entries
        if (event is None or entry.event == event)
        and (outcome is None or entry.ok == (outcome == "ok"))
    ]
    return json_response({"webhooks": [webhook_view(entry) for entry in kept[-int(raw_limit) :]]})


def format_event(event: Event) -> str:
    """One Server-Sent Events block."""
    data = json.dumps({"id": event.id, "type": event.type, "at": iso8601(event.at), **event.data})
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


async def stream_events(request: Request) -> Response:
    """`GET /_emulator/events`: Server-Sent Events until the client goes away."""
    types = frozenset(filter(None, request.query_params.get("types", "").split(",")))
    subscription = emulator_of(request).state.events.subscribe(types)

    async def blocks() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not subscription.closed:
                try:
                    async with asyncio.timeout(KEEP_ALIVE_SECONDS):
                        event = await subscription.next()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is not None:
                    yield format_event(event)
        finally:
            subscription.close()

    return StreamingResponse(
        blocks(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@contextlib.asynccontextmanager
async def lifespan(emulator: Emulator) -> AsyncIterator[None]:
    """Publish message status changes and webhook attempts on the bus while the app runs."""
    bus = emulator.state.events
    runtime = messaging(emulator.state)

    def on_status(message: Message, previous: str) -> None:
        bus.publish("message.status", {"message": render(message), "previous_status": previous})

    def on_webhook(delivery: WebhookDelivery) -> None:
        bus.publish("webhook.delivered", {"webhook": webhook_view(delivery)})

    runtime.engine.status_listeners.append(on_status)
    runtime.webhooks.listeners.append(on_webhook)
    try:
        yield
    finally:
        runtime.engine.status_listeners.remove(on_status)
        runtime.webhooks.listeners.remove(on_webhook)


def routes() -> list[Route]:
    """The webhook log and event stream routes."""
    return [
        Route(f"{CONTROL_PREFIX}/webhooks", list_webhooks, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/events", stream_events, methods=["GET"]),
    ]
