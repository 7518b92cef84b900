"""Herald's admin pages in Chromium, against Herald running in sandbox with its worker.

`herald_admin` runs the sandbox (emulator, `default` tenant) and the gateway as `herald serve`
does, on an event loop in a background thread, since Playwright's sync API owns the test's
thread. Messages go through the real API and are delivered by the emulator; an opt-out is a
STOP texted through the emulator's `/_emulator/inbound`. The screenshots of the admin pages in
docs/images/ are made here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from herald.gateway import Gateway
from herald.sandbox import Sandbox
from herald.settings import Settings
from tests.browser.conftest import DESKTOP, PHONE_SCREEN, WAIT_MS, screenshot
from tests.gateway.gateway_helpers import free_port

pytestmark = pytest.mark.browser

START_TIMEOUT = 30.0
DELIVERY_STEP_SECONDS = 0.05
DUTCH_PHONE = "+31612345678"
BRITISH_PHONE = "+447911123456"
GERMAN_PHONE = "+4915112345678"
MASKED_GERMAN = "+49 1 •••• 5678"
MASKED_DUTCH = "+31 6 •••• 5678"
REVEALED_DUTCH = "+31 6 12345678"


@dataclasses.dataclass(frozen=True)
class HeraldAdmin:
    """A running Herald: its URL, admin key, an API client and an emulator client."""

    url: str
    admin_key: str
    api: httpx.Client
    emulator: httpx.Client
    sandbox_number: str

    def send(self, to: str, body: str) -> str:
        """Send an SMS through the API; the message id."""
        response = self.api.post("/v1/messages", json={"channel": "sms", "to": to, "body": body})
        assert response.status_code == 202, response.text
        message_id: str = response.json()["id"]
        return message_id

    def settled(self, message_id: str) -> None:
        """Wait until the message reaches a final status."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            status = self.api.get(f"/v1/messages/{message_id}").json()["status"]
            if status in {"delivered", "undelivered", "failed", "read"}:
                return
            time.sleep(0.05)
        pytest.fail(f"message {message_id} did not settle")


class _Loop:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(START_TIMEOUT)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT)
        self.loop.close()


@pytest.fixture(scope="module")
def herald_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeraldAdmin]:
    """Herald in sandbox (SQLite), serving the API and the admin pages, with its worker."""
    home: Path = tmp_path_factory.mktemp("herald")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    settings = Settings(
        home=home,
        port=sock.getsockname()[1],
        emulator_port=free_port(),
        worker_poll_seconds=0.02,
        log_level="warning",
    )
    runner = _Loop()
    sandbox = Sandbox(settings)
    sandbox.emulator_config = dataclasses.replace(
        sandbox.emulator_config,
        delivery_step_seconds=DELIVERY_STEP_SECONDS,
        throughput_enabled=False,
    )
    try:
        info = runner.run(sandbox.start())
        gateway = Gateway(
            dataclasses.replace(sandbox.settings, sender_rates=f"{info.phone_number}=100")
        )
        runner.run(gateway.start(sockets=[sock]))
        try:
            with (
                httpx.Client(
                    base_url=gateway.url,
                    headers={"Authorization": f"Bearer {info.api_key}"},
                    trust_env=False,
                ) as api,
                httpx.Client(base_url=info.emulator_url, trust_env=False) as emulator,
            ):
                yield HeraldAdmin(
                    url=gateway.url,
                    admin_key=gateway.settings.admin_key,
                    api=api,
                    emulator=emulator,
                    sandbox_number=info.phone_number,
                )
        finally:
            runner.run(gateway.stop())
    finally:
        runner.run(sandbox.stop())
        runner.close()
        sock.close()


@pytest.fixture
def admin_page(browser: Browser, herald_admin: HeraldAdmin) -> Iterator[Page]:
    """A laptop-sized tab signed in to the admin pages."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        sign_in(page, herald_admin)
        yield page
    finally:
        context.close()


def sign_in(page: Page, herald: HeraldAdmin) -> None:
    """Open the message log, get sent to the sign-in form, and sign in with the admin key."""
    page.goto(herald.url + "/admin/messages")
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("Admin key").fill(herald.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()


def test_sign_in_then_filter_the_message_log(admin_page: Page, herald_admin: HeraldAdmin) -> None:
    """After signing in, filtering the log by a number leaves only that number's messages."""
    dutch = herald_admin.send(DUTCH_PHONE, "Your parcel arrives today between 10:00 and 12:00.")
    british = herald_admin.send(BRITISH_PHONE, "Your table for two is booked for 19:30.")
    herald_admin.settled(dutch)
    herald_admin.settled(british)
    admin_page.reload()
    expect(admin_page.locator(f'tr[data-message="{british}"]')).to_be_visible()
    admin_page.get_by_label("Number").fill("+31 6 1234 5678")
    admin_page.get_by_role("button", name="Filter").click()
    expect(admin_page.locator(f'tr[data-message="{dutch}"]')).to_be_visible()
    expect(admin_page.locator(f'tr[data-message="{british}"]')).to_have_count(0)
    admin_page.get_by_label("Number").fill("")
    admin_page.get_by_role("button", name="Filter").click()
    screenshot(admin_page, "admin-messages")


def test_a_message_shows_its_history(admin_page: Page, herald_admin: HeraldAdmin) -> None:
    """A message's page lists each status it went through, up to delivered, and its SID."""
    message_id = herald_admin.send(DUTCH_PHONE, "Your code is 482913.")
    admin_page.goto(f"{herald_admin.url}/admin/messages/{message_id}")
    history = admin_page.locator("table.history")
    expect(history.locator(".status-delivered")).to_be_visible()
    expect(history.locator(".status-accepted")).to_be_visible()
    expect(admin_page.locator("#provider-sid")).to_have_text(re.compile(r"^SM[0-9a-f]{32}$"))
    screenshot(admin_page, "admin-message")


def test_a_stop_texted_in_is_listed_on_the_opt_out_page(
    admin_page: Page, herald_admin: HeraldAdmin
) -> None:
    """After a phone texts STOP, the next send is refused and the opt-out appears live."""
    admin_page.goto(herald_admin.url + "/admin/opt-outs")
    opted_out = admin_page.locator("#opted-out")
    expect(opted_out).to_have_count(0)
    inbound = herald_admin.emulator.post(
        "/_emulator/inbound",
        json={"from": GERMAN_PHONE, "to": herald_admin.sandbox_number, "body": "STOP"},
    )
    assert inbound.status_code == 201, inbound.text
    refused = herald_admin.api.post(
        "/v1/messages", json={"channel": "sms", "to": GERMAN_PHONE, "body": "Summer sale!"}
    )
    assert refused.json()["code"] == "recipient_opted_out"
    expect(opted_out.get_by_text(MASKED_GERMAN)).to_be_visible()
    expect(admin_page.locator("#opt-out-history").get_by_text("keyword (STOP)")).to_be_visible()
    screenshot(admin_page, "admin-opt-outs")


def test_numbers_stay_masked_until_revealed(admin_page: Page, herald_admin: HeraldAdmin) -> None:
    """The log masks numbers; the reveal toggle shows them in full, and masks them again."""
    herald_admin.settled(herald_admin.send(DUTCH_PHONE, "Your parcel is on its way."))
    admin_page.reload()
    log = admin_page.locator("#log")
    expect(log.get_by_text(MASKED_DUTCH).first).to_be_visible()
    expect(log.get_by_text(REVEALED_DUTCH)).to_have_count(0)
    admin_page.get_by_role("link", name="Reveal numbers").click()
    expect(admin_page).to_have_url(re.compile(r"reveal=1"))
    expect(log.get_by_text(REVEALED_DUTCH).first).to_be_visible()
    admin_page.get_by_role("link", name="Mask numbers").click()
    expect(log.get_by_text(REVEALED_DUTCH)).to_have_count(0)


def test_the_overview_charts_today(admin_page: Page, herald_admin: HeraldAdmin) -> None:
    """The overview draws today's delivered messages and lists the Netherlands' rate."""
    herald_admin.settled(herald_admin.send(DUTCH_PHONE, "See you tomorrow."))
    admin_page.goto(herald_admin.url + "/admin/overview")
    expect(admin_page.locator("svg.chart rect.cat-delivered").first).to_be_visible()
    expect(admin_page.locator("#countries").get_by_text("Netherlands (NL)")).to_be_visible()
    screenshot(admin_page, "admin-overview")


def test_the_log_fits_a_phone_screen(browser: Browser, herald_admin: HeraldAdmin) -> None:
    """On a phone-sized screen the log folds each message into a card, without side-scrolling."""
    context = browser.new_context(viewport=PHONE_SCREEN, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        sign_in(page, herald_admin)
        herald_admin.settled(herald_admin.send(DUTCH_PHONE, "Your parcel is on its way."))
        page.reload()
        expect(page.locator("#log tr").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_SCREEN["width"]
        screenshot(page, "admin-messages-phone")
    finally:
        context.close()
