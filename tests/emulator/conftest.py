"""Fixtures: a real emulator on a loopback port, and official twilio clients pointed at it.

`emulator` serves `create_app()` with uvicorn in a background thread on 127.0.0.1 (a port the OS
picks), with a `ManualClock` so that dates are fixed and time moves only when a test says so.
`serve(app)` does the same for an app a test assembled itself.

`twilio_client` is `twilio.rest.Client` for the main account. The client has no base-URL option:
each product is a `Domain` whose `base_url` is read at request time, so setting
`client.api.base_url` (and `client.verify.base_url`, `client.messaging.base_url`,
`client.content.base_url`) sends every request to the emulator; relative `next_page_uri`s are
joined to it too. `environment={}` keeps `TWILIO_REGION`/`TWILIO_EDGE` from rewriting the host.
Its HTTP client validates every response against the OpenAPI documents as it arrives.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from herald.emulator import EmulatorConfig, EmulatorState, ManualClock, create_app
from herald.emulator.routing import Emulator
from tests.emulator.openapi import assert_response

START_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class RunningEmulator:
    """An emulator serving on a loopback port."""

    base_url: str
    config: EmulatorConfig
    state: EmulatorState
    clock: ManualClock
    app: Starlette

    def url(self, path: str) -> str:
        """The absolute URL of a path on this emulator."""
        return self.base_url + path


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (uvicorn listens on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: Starlette, sock: socket.socket) -> Iterator[RunningEmulator]:
    """Serve an emulator app on `sock` until the block ends, then stop cleanly."""
    emulator = app.state.emulator
    assert isinstance(emulator, Emulator)
    assert isinstance(emulator.clock, ManualClock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the emulator did not start", pytrace=False)
            time.sleep(0.01)
        yield RunningEmulator(
            base_url=emulator.config.base_url,
            config=emulator.config,
            state=emulator.state,
            clock=emulator.clock,
            app=app,
        )
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "the emulator did not stop"


def build_app(sock: socket.socket) -> Starlette:
    """A default emulator app for the port `sock` is bound to."""
    config = EmulatorConfig(port=sock.getsockname()[1])
    return create_app(config, clock=ManualClock())


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator on a free loopback port, stopped after the test."""
    sock = loopback_socket()
    with serve(build_app(sock), sock) as running:
        yield running


class ValidatingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """The twilio client's own HTTP client, checking each answer against the OpenAPI specs."""

    def __init__(self) -> None:
        super().__init__()
        # A developer's HTTP(S)_PROXY must not capture loopback traffic.
        self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send, then validate the answer before the client parses it."""
        response = super().request(method, url, *args, **kwargs)
        body = json.loads(response.text) if response.text else None
        assert_response(method, urlsplit(url).path, response.status_code, body)
        return response


ClientFactory = Callable[..., Client]


@pytest.fixture
def make_client(emulator: RunningEmulator) -> ClientFactory:
    """Build a twilio client for any credentials, pointed at the emulator."""

    def build(username: str, password: str, account_sid: str | None = None) -> Client:
        client = Client(
            username,
            password,
            account_sid=account_sid,
            http_client=ValidatingHttpClient(),
            environment={},
        )
        client.api.base_url = emulator.base_url
        return client

    return build


@pytest.fixture
def twilio_client(emulator: RunningEmulator, make_client: ClientFactory) -> Client:
    """The official twilio client with the main account's credentials."""
    return make_client(emulator.config.account_sid, emulator.config.auth_token)
