"""Helpers for the inbound tests: an application that answers with TwiML, and control calls.

`application()` is a real HTTP server on 127.0.0.1 (the standard library's threading server)
that records every request, GET or POST, and answers with what the test set in `answer`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import Reply, call

WAIT_SECONDS = 10.0
TWIML = "text/xml"


@dataclasses.dataclass(frozen=True)
class Request:
    """One request the application got."""

    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]
    headers: dict[str, str]


@dataclasses.dataclass
class Answer:
    """What the application answers."""

    status: int = 200
    content_type: str = TWIML
    body: str = "<Response/>"


class Application:
    """What a running application has seen, and how it answers."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests: list[Request] = []
        self.answer = Answer()
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        """The absolute URL of `path` on the application."""
        return self.base_url + path

    def record(self, request: Request) -> None:
        """Keep one request."""
        with self._lock:
            self.requests.append(request)


@contextmanager
def application() -> Iterator[Application]:
    """An application listening on a free loopback port until the block ends."""
    app: Application

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8") if length else ""
            parts = urlsplit(self.path)
            app.record(
                Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    params=dict(parse_qsl(body, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                )
            )
            answer = app.answer
            payload = answer.body.encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _handle  # noqa: N815 - the standard library's handler names
        do_POST = _handle  # noqa: N815 - same

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            """Stay quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    app = Application(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT_SECONDS)


def control(emulator: RunningEmulator, method: str, path: str, body: Any = None) -> Reply:
    """Call the control API with a JSON body (or none)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else None
    return call(method, emulator.url(path), body=data, headers=headers, validate=False)


def seed(emulator: RunningEmulator, **fields: Any) -> dict[str, Any]:
    """POST /_emulator/seed and return its answer."""
    reply = control(emulator, "POST", "/_emulator/seed", fields)
    assert reply.status == 201, reply.json
    result: dict[str, Any] = reply.json
    return result


def inbound(emulator: RunningEmulator, **fields: Any) -> Reply:
    """POST /_emulator/inbound with a JSON body (`from_` for `from`)."""
    if "from_" in fields:
        fields["from"] = fields.pop("from_")
    return control(emulator, "POST", "/_emulator/inbound", fields)
