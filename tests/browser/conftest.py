"""Browser tests: Playwright driving the system's Chromium against a real emulator.

Chromium is Debian's (`apt-get install chromium`), never a browser Playwright downloads. Without
it the browser tests skip, saying how to install it; with `CI=true` they fail instead, so a CI
machine can never silently skip them.

`inbox` serves a seeded emulator (same SIDs and credentials on every run) on a loopback port
with a `ManualClock`, so dates are fixed and messages move only when a test advances time:
the screenshots each test saves into docs/images/ show the same content on every run. An
application answering every webhook with 200 runs beside it, so the webhook log fills up.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from herald.emulator import EmulatorConfig, ManualClock, create_app

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path(os.environ.get("HERALD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
SCRATCH_IMAGES = Path(tempfile.gettempdir()) / "herald-screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE_SCREEN: ViewportSize = {"width": 390, "height": 844}
SEED = 6
START_TIMEOUT = 10.0
WAIT_MS = 5000


def chromium_or_skip() -> str:
    """The Chromium binary to drive; skips (fails under CI) with how to install it."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    found = shutil.which("chromium")
    if found is not None and "HERALD_TEST_CHROMIUM" not in os.environ:
        return found
    message = (
        f"Chromium is not installed at {CHROMIUM}; install it with "
        "`sudo apt-get install -y chromium` (or set HERALD_TEST_CHROMIUM) to run the browser tests."
    )
    if IN_CI:
        pytest.fail(f"{message} (CI=true: browser tests must not be skipped)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """A headless Chromium for the browser tests.

    Package-scoped on purpose: Playwright's sync API keeps an event loop running in the main
    thread while it is open, so it must be closed before any asyncio test runs after these.
    """
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# -- the emulator and an application beside it ---------------------------------------------------


class _Application(BaseHTTPRequestHandler):
    """Answers every webhook with 200 and an empty TwiML document."""

    def do_POST(self) -> None:
        """Read the request and answer `<Response/>`."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = b"<Response/>"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Stay quiet."""


@dataclasses.dataclass(frozen=True)
class Inbox:
    """A running emulator, its clock, a twilio client for it, and the number it seeded."""

    base_url: str
    clock: ManualClock
    client: Client
    number: str
    app_url: str

    def url(self, path: str) -> str:
        """The absolute URL of a path on the emulator."""
        return self.base_url + path

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control API with a JSON body; the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
            self.url(path), data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - same
            return json.loads(response.read())

    def send(self, to: str, body: str, *, from_: str | None = None) -> str:
        """Send a message through the Twilio API, with a status callback; its SID."""
        message = self.client.messages.create(
            to=to, from_=from_ or self.number, body=body, status_callback=self.app_url + "/status"
        )
        sid: str = message.sid
        return sid

    def phone_says(self, phone: str, body: str, *, to: str | None = None) -> Any:
        """A simulated phone sends `body` to the seeded number (`/_emulator/inbound`)."""
        to = to or (f"whatsapp:{self.number}" if phone.startswith("whatsapp:") else self.number)
        return self.control("POST", "/_emulator/inbound", {"from": phone, "to": to, "body": body})

    def settle(self, seconds: float = 30) -> None:
        """Let the emulator's carrier finish what it holds (time only moves when told)."""
        self.clock.advance(seconds)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A seeded emulator with one US number (SMS and WhatsApp) whose webhooks are answered."""
    application = ThreadingHTTPServer(("127.0.0.1", 0), _Application)
    app_thread = threading.Thread(target=application.serve_forever, daemon=True)
    app_thread.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = EmulatorConfig(port=sock.getsockname()[1], seed=SEED, delivery_step_seconds=0.5)
    clock = ManualClock()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, clock=clock), log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            assert thread.is_alive(), "the emulator did not start"
            assert time.monotonic() < deadline, "the emulator did not start in time"
            time.sleep(0.01)
        http_client = TwilioHttpClient()
        http_client.session.trust_env = False  # a developer's proxy must not see loopback calls
        client = Client(
            config.account_sid, config.auth_token, http_client=http_client, environment={}
        )
        client.api.base_url = config.base_url
        app_url = f"http://127.0.0.1:{application.server_address[1]}"
        running = Inbox(config.base_url, clock, client, "", app_url)
        seeded = running.control(
            "POST", "/_emulator/seed", {"sms_url": app_url + "/sms", "whatsapp": True}
        )
        yield dataclasses.replace(running, number=seeded["numbers"][0]["phone_number"])
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
        application.shutdown()
        application.server_close()
        app_thread.join(START_TIMEOUT)


@pytest.fixture
def page(browser: Browser, inbox: Inbox) -> Iterator[Page]:
    """A fresh laptop-sized tab, closed (with its event stream) before `inbox` stops."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    """Render the page to <name>.png: into docs/images/ with HERALD_SCREENSHOTS=1, else a temp dir.

    Every run renders the page (so a page that cannot be drawn fails the test), but only a run
    that asks for it rewrites the committed images.
    """
    folder = IMAGES if os.environ.get("HERALD_SCREENSHOTS") == "1" else SCRATCH_IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


PHONE_DELIVERED = "+14155550100"
PHONE_WHATSAPP = "whatsapp:+14155550190"
PHONE_UNREACHABLE = "+14155550112"


@pytest.fixture
def conversations(inbox: Inbox) -> Inbox:
    """The inbox with three conversations: delivered SMS, read WhatsApp, and an undelivered SMS."""
    inbox.send(
        PHONE_DELIVERED, "Your order #1042 has shipped. Track it at https://shop.example/t/1042"
    )
    inbox.settle(2)
    inbox.phone_says(PHONE_DELIVERED, "Thanks! Could the courier leave it with the neighbours?")
    inbox.settle(2)
    inbox.send(PHONE_DELIVERED, "Of course — we've told the courier. Anything else?")
    inbox.phone_says(PHONE_WHATSAPP, "Hi, is the blue jacket back in stock?")
    inbox.settle(2)
    inbox.send(
        PHONE_WHATSAPP,
        "Yes! Sizes M and L are back. Shall I reserve one?",
        from_=f"whatsapp:{inbox.number}",
    )
    inbox.send(PHONE_UNREACHABLE, "Reminder: your appointment is tomorrow at 10:00.")
    inbox.settle()
    return inbox
