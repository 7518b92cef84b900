"""The Shop login example, end to end: a password, a code from Herald in sandbox, a welcome.

Herald (sandbox, emulator and gateway) runs in a thread with its own event loop, and the example
app in another under uvicorn, so that Playwright's sync API can drive Chromium from the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from examples.login.app import DEMO_PASSWORD, DEMO_USER, Config, create_app
from playwright.sync_api import Browser

from herald.gateway import Gateway
from herald.sandbox import Sandbox
from herald.settings import Settings
from tests.gateway.gateway_helpers import free_port

PHONE = "+14155550100"
START_TIMEOUT = 20.0
WAIT_MS = 10000
CODE = re.compile(r"verification code is (\d{4,10})")


@dataclasses.dataclass(frozen=True)
class Herald:
    """A running Herald in sandbox: its API, its key and its emulator."""

    api_url: str
    api_key: str
    emulator_url: str


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture
def herald(tmp_path: Path) -> Iterator[Herald]:
    """Herald in sandbox on loopback ports, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    sock = _listening_socket()
    settings = Settings(
        home=tmp_path / "herald",
        database_url=f"sqlite:///{tmp_path / 'herald.db'}",
        port=sock.getsockname()[1],
        emulator_port=free_port(),
        worker_poll_seconds=0.02,
        log_level="warning",
    )
    sandbox = Sandbox(settings)
    gateway: list[Gateway] = []

    async def start() -> Herald:
        info = await sandbox.start()
        gateway.append(Gateway(sandbox.settings))
        await gateway[0].start(sockets=[sock])
        return Herald(gateway[0].url, info.api_key, info.emulator_url)

    async def stop() -> None:
        if gateway:
            await gateway[0].stop()
        await sandbox.stop()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(START_TIMEOUT)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)
        loop.close()
        sock.close()


@contextlib.contextmanager
def serve_shop(config: Config) -> Iterator[str]:
    """The example app, served by uvicorn in a thread on a loopback port; its base URL."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            assert thread.is_alive(), "the example app did not start"
            assert time.monotonic() < deadline, "the example app did not start in time"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


@pytest.fixture
def shop(herald: Herald) -> Iterator[str]:
    """The example app talking to the sandboxed Herald; its base URL."""
    config = Config(herald_url=herald.api_url, api_key=herald.api_key, demo_phone=PHONE)
    with serve_shop(config) as url:
        yield url


def latest_code(emulator_url: str, phone: str) -> str:
    """The code in the newest message `phone` received, waiting for Herald's worker to send it."""
    url = f"{emulator_url}/_emulator/phones/{urllib.parse.quote(phone)}/messages"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with opener.open(url, timeout=10) as response:
            messages: list[dict[str, Any]] = json.loads(response.read())["messages"]
        codes = [CODE.search(str(message.get("body", ""))) for message in messages]
        found = [match.group(1) for match in codes if match is not None]
        if found:
            return found[-1]
        time.sleep(0.05)
    pytest.fail(f"no code reached {phone}")


@pytest.mark.browser
def test_login_with_the_code_from_the_emulator_welcomes_the_user(
    browser: Browser, herald: Herald, shop: str
) -> None:
    """The right password and then the code Herald sent by SMS end on the welcome page."""
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    try:
        tab = context.new_page()
        tab.goto(shop)
        tab.get_by_label("Username").fill(DEMO_USER)
        tab.get_by_label("Password").fill(DEMO_PASSWORD)
        tab.get_by_role("button", name="Log in").click()
        tab.get_by_text("We sent you a code").wait_for()
        tab.get_by_label("Code").fill(latest_code(herald.emulator_url, PHONE))
        tab.get_by_role("button", name="Verify").click()
        tab.get_by_text(f"Welcome, {DEMO_USER}!").wait_for()
        assert f"Welcome, {DEMO_USER}!" in tab.content()
    finally:
        context.close()


def test_wrong_password_is_refused_without_starting_a_verification() -> None:
    """A wrong password answers an error and never calls Herald (whose URL here is unreachable)."""
    config = Config(herald_url=f"http://127.0.0.1:{free_port()}", api_key="hk_x", demo_phone=PHONE)
    form = urllib.parse.urlencode({"username": DEMO_USER, "password": "wrong"}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with serve_shop(config) as url, opener.open(url + "/login", data=form, timeout=10) as answer:
        text = answer.read().decode()
        cookie = answer.headers.get("Set-Cookie")
    assert "Wrong username or password." in text
    assert cookie is None
