"""Helpers for the Messages tests: owned numbers, waiting on the delivery engine, a receiver.

The receiver is a real HTTP server on 127.0.0.1 (the standard library's threading server): it
records every request and answers with the statuses a test queues up (200 once the queue is
empty), so retries can be provoked deterministically.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from herald.emulator.inventory import Capabilities, NumberKind
from herald.emulator.numbers import IncomingNumber, PhoneNumbers
from herald.emulator.state import EmulatorState

WAIT_SECONDS = 10.0
SMS_CAPABLE = Capabilities(voice=True, sms=True, mms=True)


def own_number(
    state: EmulatorState,
    account_sid: str,
    phone_number: str,
    *,
    capabilities: Capabilities = SMS_CAPABLE,
) -> IncomingNumber:
    """Give `account_sid` the number `phone_number`, as if it had bought it."""
    now = state.clock.now()
    number = IncomingNumber(
        sid=state.sids.sid("PN"),
        account_sid=account_sid,
        phone_number=phone_number,
        friendly_name=phone_number,
        iso_country="US",
        kind=NumberKind.LOCAL,
        capabilities=capabilities,
        address_requirements="none",
        beta=False,
        date_created=now,
        date_updated=now,
    )
    return PhoneNumbers(state).add(number)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail after a generous deadline."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]


class Receiver:
    """What a running webhook receiver has seen, and what it will answer next."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests: list[Received] = []
        self.replies: list[int] = []
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        """The absolute URL of `path` on the receiver."""
        return self.base_url + path

    def next_status(self) -> int:
        """The status for the next request (queued replies first, then 200)."""
        with self._lock:
            return self.replies.pop(0) if self.replies else 200

    def record(self, request: Received) -> None:
        """Keep one request."""
        with self._lock:
            self.requests.append(request)

    def statuses(self) -> list[str]:
        """The `MessageStatus` of every callback received, in arrival order."""
        with self._lock:
            return [request.params["MessageStatus"] for request in self.requests]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A webhook receiver listening on a free loopback port until the block ends."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            receiver.record(
                Received(
                    path=self.path,
                    params=dict(parse_qsl(body, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                )
            )
            self.send_response(receiver.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            """Stay quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT_SECONDS)
