"""The emulator's inbox in a real browser: live bubbles and ticks, the composer, the other pages.

Each test leaves a screenshot in docs/images/ (the emulator is seeded and its clock manual, so
the pictures show the same thing on every run).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    PHONE_DELIVERED,
    PHONE_SCREEN,
    PHONE_UNREACHABLE,
    Inbox,
    screenshot,
)

pytestmark = pytest.mark.browser

OPT_OUT_REPLY = "You have successfully been unsubscribed."


def open_live(page: Page, url: str) -> None:
    """Open a page and wait until its event stream is connected."""
    page.goto(url)
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    # A reload would lose this; the tests check it is still there after the live updates.
    page.evaluate("window.inboxMarker = 'not reloaded'")


def assert_not_reloaded(page: Page) -> None:
    """The page was updated in place, not reloaded."""
    assert page.evaluate("window.inboxMarker") == "not reloaded"


def test_sent_message_appears_and_turns_delivered_without_reload(
    page: Page, conversations: Inbox
) -> None:
    """A message sent through the API shows up as a bubble whose tick turns to delivered live."""
    open_live(page, conversations.url("/phones/%2B14155550100"))
    sid = conversations.send(PHONE_DELIVERED, "Your parcel arrives today between 14:00 and 16:00.")
    bubble = page.locator(f"#msg-{sid}")
    expect(bubble).to_have_attribute("data-status", "queued")
    expect(bubble.locator(".body")).to_have_text(
        "Your parcel arrives today between 14:00 and 16:00."
    )
    expect(bubble.locator(".segments")).to_have_text("1 segment · GSM-7")
    conversations.settle()
    expect(bubble).to_have_attribute("data-status", "delivered")
    expect(bubble.locator(".tick")).to_have_text("✓✓Delivered")
    assert_not_reloaded(page)
    screenshot(page, "inbox-conversation")


def test_stop_typed_in_the_composer_brings_the_opt_out_reply(
    page: Page, conversations: Inbox
) -> None:
    """Typing STOP as the phone stores it and the carrier's unsubscribe reply arrives live."""
    open_live(page, conversations.url("/phones/%2B14155550100"))
    page.get_by_label("Message").fill("STOP")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".bubble.mine .body").last).to_have_text("STOP")
    reply = page.locator(".bubble.theirs").last
    expect(reply.locator(".body")).to_contain_text(OPT_OUT_REPLY)
    conversations.settle()
    expect(reply).to_have_attribute("data-status", "delivered")
    assert conversations.control("GET", "/_emulator/opt-outs")["opt_outs"]
    assert_not_reloaded(page)
    screenshot(page, "inbox-opt-out")


def test_composer_explains_a_refused_reply(page: Page, conversations: Inbox) -> None:
    """A blank reply is refused with the reason shown beside the composer."""
    open_live(page, conversations.url("/phones/%2B14155550100"))
    page.get_by_label("Message").fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_have_text("Type a message to send.")


def test_phone_list_shows_a_new_phone_live(page: Page, conversations: Inbox) -> None:
    """A phone that writes for the first time appears at the top of the list without a reload."""
    open_live(page, conversations.url("/"))
    conversations.phone_says("+31612345678", "Hallo, is de winkel zondag open?")
    first = page.locator(".phone").first
    expect(first).to_have_attribute("data-number", "+31612345678")
    expect(first.locator(".preview")).to_have_text("Phone: Hallo, is de winkel zondag open?")
    expect(page.locator(".phone")).to_have_count(4)
    assert_not_reloaded(page)
    screenshot(page, "inbox-phones")


def test_hostile_message_body_is_shown_as_text(page: Page, conversations: Inbox) -> None:
    """Markup in a message body arriving live is shown as text and runs nothing."""
    open_live(page, conversations.url("/phones/%2B14155550112"))
    hostile = '<img src=x onerror="window.hacked=1"><script>window.hacked=1</script>'
    sid = conversations.send(PHONE_UNREACHABLE, hostile)
    expect(page.locator(f"#msg-{sid} .body")).to_have_text(hostile)
    assert page.locator(f"#msg-{sid} img, #msg-{sid} script").count() == 0
    assert page.evaluate("window.hacked") is None


def test_failed_message_shows_a_cross_and_its_error_code(page: Page, conversations: Inbox) -> None:
    """An undelivered message carries the failure tick and Twilio's error code."""
    page.goto(conversations.url("/phones/%2B14155550112"))
    bubble = page.locator(".bubble.theirs").first
    expect(bubble).to_have_attribute("data-status", "undelivered")
    expect(bubble.locator(".tick")).to_have_text("✗Undelivered")
    expect(bubble.locator(".error-code")).to_have_text("30003")


def test_whatsapp_conversation_shows_blue_read_ticks(page: Page, conversations: Inbox) -> None:
    """A WhatsApp message the customer read carries the read tick, in the WhatsApp style."""
    page.goto(conversations.url("/phones/%2B14155550190"))
    bubble = page.locator(".bubble.theirs").last
    expect(bubble).to_have_attribute("data-status", "read")
    expect(bubble).to_have_class(re.compile(r"\bchannel-whatsapp\b"))
    expect(bubble.locator(".tick")).to_have_class(re.compile(r"\btick-read\b"))
    expect(bubble.locator(".segments")).to_have_count(0)
    screenshot(page, "inbox-whatsapp")


def test_webhook_page_lists_a_new_delivery_live(page: Page, conversations: Inbox) -> None:
    """An incoming-message webhook shows up at the top with its answer and signature."""
    open_live(page, conversations.url("/webhooks"))
    conversations.phone_says(PHONE_DELIVERED, "Is it there yet?")
    first = page.locator("#webhooks tbody tr").first
    expect(first.locator(".event")).to_have_text("incoming")
    expect(first.locator(".status")).to_have_text("200")
    expect(first.locator(".signature")).to_have_text(re.compile(r"^[A-Za-z0-9+/]{27}=$"))
    assert_not_reloaded(page)
    screenshot(page, "inbox-webhooks")


def test_chaos_form_round_trips(page: Page, conversations: Inbox) -> None:
    """Settings applied in the chaos form are what the control API then reports, and back."""
    page.goto(conversations.url("/chaos"))
    page.get_by_label("Seed").fill("42")
    page.get_by_label("503 Unavailable").fill("0.25")
    page.get_by_label("Duplicated callbacks").fill("0.5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_have_text("Saved: in force from the next request.")
    default = conversations.control("GET", "/_emulator/chaos")["default"]
    assert (default["seed"], default["unavailable"], default["callback_duplicate"]) == (
        42,
        0.25,
        0.5,
    )
    expect(page.locator("#chaos-state tbody tr").first).to_contain_text("unavailable 0.25")
    page.reload()
    expect(page.get_by_label("503 Unavailable")).to_have_value("0.25")
    screenshot(page, "inbox-chaos")


def test_chaos_form_shows_a_refusal(page: Page, conversations: Inbox) -> None:
    """Shares adding up past 1 are refused with the control API's explanation."""
    page.goto(conversations.url("/chaos"))
    page.get_by_label("429 Too many requests").fill("0.75")
    page.get_by_label("500 Server error").fill("0.5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("must not exceed 1")


def test_accounts_page_shows_numbers_and_their_webhooks(page: Page, conversations: Inbox) -> None:
    """The seeded number is listed with its incoming-message URL."""
    page.goto(conversations.url("/accounts"))
    row = page.get_by_role("row", name=re.compile(re.escape(conversations.number)))
    expect(row).to_contain_text(conversations.app_url + "/sms")
    screenshot(page, "inbox-accounts")


@pytest.mark.parametrize(
    "path", ["/", "/phones/%2B14155550100", "/webhooks", "/chaos", "/accounts"]
)
def test_pages_fit_a_phone_screen(browser: Browser, conversations: Inbox, path: str) -> None:
    """Every page fits a phone's width without sideways scrolling of the page itself."""
    context = browser.new_context(viewport=PHONE_SCREEN, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(conversations.url(path))
        expect(page.locator("h1")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_SCREEN["width"]
        if path.startswith("/phones/"):
            expect(page.get_by_role("button", name="Send")).to_be_visible()
            screenshot(page, "inbox-phone-screen")
    finally:
        context.close()
