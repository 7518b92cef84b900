"""The inbox's pages as HTML over real HTTP: what they list, what they escape, the reply form,
the security headers, and that chaos never reaches them. (The browser tests in tests/browser
drive the same pages live.)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from twilio.rest import Client

from herald.emulator.message_store import Message
from herald.emulator.messaging import messaging
from herald.emulator.pages import CONTENT_SECURITY_POLICY
from herald.emulator.pages_views import PREVIEW_CHARS, preview, tick_for
from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import Application, application, control, inbound, seed
from tests.emulator.message_helpers import own_number, wait_until
from tests.emulator.rawhttp import Reply, call

PHONE = "+14155550100"
UNREACHABLE = "+14155550112"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {**FORM, "Accept": "application/json"}


@pytest.fixture
def app() -> Iterator[Application]:
    """An application answering every webhook with empty TwiML."""
    with application() as running:
        yield running


@pytest.fixture
def number(emulator: RunningEmulator, app: Application) -> str:
    """A US number of the main account, a WhatsApp sender, with its webhook on `app`."""
    seeded = seed(emulator, sms_url=app.url("/sms"), whatsapp=True)
    phone_number: str = seeded["numbers"][0]["phone_number"]
    return phone_number


def page(emulator: RunningEmulator, path: str) -> Reply:
    """GET a page."""
    return call("GET", emulator.url(path), validate=False)


def text(reply: Reply) -> str:
    """A page's HTML."""
    return reply.raw.decode("utf-8")


def settle(emulator: RunningEmulator, sid: str, status: str) -> None:
    """Move the clock until message `sid` has `status`."""
    emulator.clock.advance(30)
    store = messaging(emulator.state).store
    wait_until(lambda: getattr(store.lookup(sid), "status", None) == status, status)


def reply_as(emulator: RunningEmulator, phone: str, body: bytes, *, as_json: bool) -> Reply:
    """POST the composer's form for `phone`."""
    path = f"/phones/{phone.replace('+', '%2B')}/reply"
    headers = JSON if as_json else FORM
    return call("POST", emulator.url(path), body=body, headers=headers, validate=False)


class _Markup(HTMLParser):
    """Collects what a CSP without inline script or style would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("inline <script>")
        if tag == "style" or "style" in names:
            self.inline.append(f"inline style on <{tag}>")
        self.inline.extend(f"{name} on <{tag}>" for name in names if name.startswith("on"))


# -- the phone list --------------------------------------------------------------------------------


def test_home_says_when_no_phone_has_written(emulator: RunningEmulator) -> None:
    """A fresh emulator's inbox explains how phones appear."""
    reply = page(emulator, "/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "No phone has received or sent anything yet" in text(reply)


def test_home_lists_a_phone_with_preview_counts_and_channel(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """A phone shows its last message, what it received and sent, and its channels."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Your order has shipped")
    inbound(emulator, from_=PHONE, to=number, body="Thanks!")
    html = text(page(emulator, "/"))
    assert 'href="/phones/%2B14155550100"' in html
    assert "Phone:</span> Thanks!" in html
    assert "1 received · 1 sent" in html
    assert '<span class="badge badge-sms">SMS</span>' in html


def test_home_lists_the_latest_conversation_first(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """The phone with the newest message comes first."""
    twilio_client.messages.create(to=UNREACHABLE, from_=number, body="First")
    twilio_client.messages.create(to=PHONE, from_=number, body="Second")
    html = text(page(emulator, "/"))
    assert html.index('data-number="+14155550100"') < html.index('data-number="+14155550112"')


def test_preview_shortens_a_long_body_to_one_line() -> None:
    """Previews fold whitespace and stop at PREVIEW_CHARS with an ellipsis."""
    message = stored_message("line one\n\n" + "x" * 200)
    shown = preview(message)
    assert shown.startswith("line one x")
    assert len(shown) == PREVIEW_CHARS
    assert shown.endswith("…")


# -- the conversation ------------------------------------------------------------------------------


def test_conversation_escapes_message_bodies(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """Markup in a body is shown as text, in the conversation and in the phone list."""
    hostile = "<script>alert('x')</script><b>bold</b>"
    twilio_client.messages.create(to=PHONE, from_=number, body=hostile)
    for path in ("/phones/%2B14155550100", "/"):
        html = text(page(emulator, path))
        assert "<script>alert" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html


def test_conversation_shows_segments_and_encoding_of_an_outbound_sms(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """A 100-character UCS-2 body is two segments, and says so."""
    twilio_client.messages.create(to=PHONE, from_=number, body="ж" * 100)
    html = text(page(emulator, "/phones/%2B14155550100"))
    assert '<span class="segments">2 segments · UCS-2</span>' in html


def test_delivered_message_has_two_ticks(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """Once delivered, a bubble carries the delivered status and its double tick."""
    sid = twilio_client.messages.create(to=PHONE, from_=number, body="Hello").sid
    settle(emulator, sid, "delivered")
    html = text(page(emulator, f"/partials/messages/{sid}"))
    assert 'data-status="delivered"' in html
    assert '<span aria-hidden="true">✓✓</span><span class="sr">Delivered</span>' in html


def test_undelivered_message_shows_the_cross_and_error_code(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """An undelivered message shows ✗ and links Twilio's error code."""
    sid = twilio_client.messages.create(to=UNREACHABLE, from_=number, body="Hello").sid
    settle(emulator, sid, "undelivered")
    html = text(page(emulator, f"/partials/messages/{sid}"))
    assert '<span aria-hidden="true">✗</span><span class="sr">Undelivered</span>' in html
    assert 'href="https://www.twilio.com/docs/api/errors/30003"' in html


def test_every_outbound_status_has_a_tick() -> None:
    """Each status a sent message can have maps to a tick; a received message has none."""
    statuses = ("scheduled", "accepted", "queued", "sending", "sent", "delivered", "read")
    finals = ("undelivered", "failed", "canceled")
    assert all(tick_for(status) is not None for status in statuses + finals)
    assert tick_for("received") is None
    assert tick_for("read") != tick_for("delivered")


def test_only_web_media_urls_become_links(emulator: RunningEmulator, number: str) -> None:
    """An https media URL is a link; a javascript: URL is shown as text only."""
    media = ["https://example.com/cat.jpg", "javascript:alert(1)"]
    inbound(emulator, from_=PHONE, to=number, body="Look", media_urls=media)
    html = text(page(emulator, "/phones/%2B14155550100"))
    assert '<a href="https://example.com/cat.jpg"' in html
    assert 'href="javascript:' not in html
    assert "<span>javascript:alert(1)</span>" in html


def test_unknown_phone_is_a_404_page(emulator: RunningEmulator) -> None:
    """A phone without messages answers 404 with an HTML explanation."""
    reply = page(emulator, "/phones/%2B14155550100")
    assert reply.status == 404
    assert "No message went to or came from +14155550100 yet." in text(reply)


def test_malformed_number_is_a_404_page(emulator: RunningEmulator) -> None:
    """A path that is no E.164 number says how to write one."""
    reply = page(emulator, "/phones/hello")
    assert reply.status == 404
    assert "write it in E.164" in text(reply)


def test_unknown_message_fragment_is_a_404(emulator: RunningEmulator) -> None:
    """A bubble of a message the store no longer holds is a 404."""
    assert page(emulator, "/partials/messages/SM" + "0" * 32).status == 404


# -- the composer ----------------------------------------------------------------------------------


def test_form_reply_is_sent_as_the_phone_and_redirects(
    emulator: RunningEmulator, twilio_client: Client, number: str, app: Application
) -> None:
    """A plain form post plays an inbound message and goes back to the conversation."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Hi")
    body = f"to=%2B{number[1:]}&body=Sure%2C+thanks".encode()
    reply = reply_as(emulator, PHONE, body, as_json=False)
    assert reply.status == 200  # urllib followed the 303 back to the conversation
    assert "Sure, thanks" in text(reply)
    assert app.requests[-1].params["From"] == PHONE
    assert app.requests[-1].params["Body"] == "Sure, thanks"


def test_stop_reply_records_the_opt_out_and_answers(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """STOP from the composer is Twilio's opt-out, with the unsubscribe auto-reply."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Hi")
    reply = reply_as(emulator, PHONE, f"to=%2B{number[1:]}&body=STOP".encode(), as_json=True)
    assert reply.status == 201
    assert reply.json["keyword"]["kind"] == "opt_out"
    assert reply.json["replies"][0]["to"] == PHONE
    assert control(emulator, "GET", "/_emulator/opt-outs").json["opt_outs"]


def test_whatsapp_reply_comes_from_the_phones_whatsapp_address(
    emulator: RunningEmulator, number: str
) -> None:
    """Replying to a WhatsApp number sends from whatsapp:+phone, opening the window."""
    inbound(emulator, from_=f"whatsapp:{PHONE}", to=f"whatsapp:{number}", body="Hi")
    body = f"to=whatsapp%3A%2B{number[1:]}&body=Still+there%3F".encode()
    reply = reply_as(emulator, PHONE, body, as_json=True)
    assert reply.status == 201
    assert reply.json["message"]["from"] == f"whatsapp:{PHONE}"


def test_reply_to_a_number_never_talked_to_is_refused(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """Only the numbers in the conversation can be replied to."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Hi")
    reply = reply_as(emulator, PHONE, b"to=%2B12025550123&body=Hello", as_json=True)
    assert reply.status == 400
    assert reply.json["message"].startswith("Choose one of the numbers +14155550100 talked with")


def test_blank_form_reply_shows_the_page_again_with_the_reason(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """A blank body re-renders the conversation with the reason beside the composer."""
    twilio_client.messages.create(to=PHONE, from_=number, body="Hi")
    reply = reply_as(emulator, PHONE, f"to=%2B{number[1:]}&body=+++".encode(), as_json=False)
    assert reply.status == 400
    assert 'role="alert">Type a message to send.</p>' in text(reply)


def test_reply_targets_leave_out_numbers_nobody_owns(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """A message from an alphanumeric sender offers nothing to reply to; the number does."""
    own_number(emulator.state, emulator.config.account_sid, "+14155550999")
    twilio_client.messages.create(to=PHONE, from_=number, body="Hi")
    html = text(page(emulator, "/partials/phones/%2B14155550100/reply-to"))
    assert f'<option value="{number}">' in html
    assert "+14155550999" not in html


# -- the other pages -------------------------------------------------------------------------------


def test_accounts_page_lists_numbers_with_their_webhook(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """Each number shows its incoming-message URL and method."""
    html = text(page(emulator, "/accounts"))
    assert f'<th scope="row">{number}</th>' in html
    assert f'<span class="method">POST</span> <code>{app.url("/sms")}</code>' in html
    assert emulator.config.auth_token in html


def test_webhooks_page_lists_an_attempt_with_answer_and_signature(
    emulator: RunningEmulator, number: str
) -> None:
    """An incoming-message webhook is listed with its status code and signature."""
    signature = inbound(emulator, from_=PHONE, to=number, body="Hi").json["webhook"]["signature"]
    html = text(page(emulator, "/webhooks"))
    assert '<span class="event">incoming</span>' in html
    assert '<span class="status">200</span>' in html
    assert f'<code class="signature">{signature}</code>' in html


def test_chaos_page_shows_the_settings_in_force(emulator: RunningEmulator) -> None:
    """Settings PUT through the control API are the form's values."""
    control(emulator, "PUT", "/_emulator/chaos", {"seed": 7, "callback_drop": 0.5})
    html = text(page(emulator, "/chaos"))
    assert 'name="callback_drop"' in html
    assert 'value="0.5"' in html
    assert "seed 7, callback_drop 0.5" in html


def test_pages_are_out_of_chaoss_reach(emulator: RunningEmulator, twilio_client: Client) -> None:
    """With every API request failing 503, the pages still answer, so chaos can be turned off."""
    control(emulator, "PUT", "/_emulator/chaos", {"unavailable": 1})
    assert call("GET", emulator.url("/2010-04-01/Accounts.json"), validate=False).status == 503
    for path in ("/", "/chaos", "/static/inbox.js", "/partials/phones"):
        assert page(emulator, path).status == 200


def test_pages_forbid_inline_script_and_style(emulator: RunningEmulator, number: str) -> None:
    """Every page sends the CSP and holds no inline script, style or event handler."""
    inbound(emulator, from_=PHONE, to=number, body="Hi")
    for path in ("/", "/phones/%2B14155550100", "/accounts", "/webhooks", "/chaos"):
        reply = page(emulator, path)
        assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        markup = _Markup()
        markup.feed(text(reply))
        assert markup.inline == [], path


def test_static_files_are_served_locally(emulator: RunningEmulator) -> None:
    """The script and stylesheet come from the emulator itself."""
    script = page(emulator, "/static/inbox.js")
    assert script.status == 200
    assert script.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert page(emulator, "/static/inbox.css").headers["Content-Type"].startswith("text/css")


def test_other_paths_still_answer_as_twilio(emulator: RunningEmulator) -> None:
    """A path that is not the inbox's keeps Twilio's JSON 404."""
    reply = call("GET", emulator.url("/phones"), validate=False)
    assert reply.status == 404
    assert reply.json["code"] == 20404


def test_page_stream_carries_bus_events(emulator: RunningEmulator, number: str) -> None:
    """GET /events streams the bus as Server-Sent Events, narrowed by type."""
    parts = urlsplit(emulator.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"GET /events?types=message.inbound HTTP/1.1\r\n")
        sock.sendall(f"Host: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        with sock.makefile("rb") as stream:
            while stream.readline().strip() != b": connected":
                pass
            inbound(emulator, from_=PHONE, to=number, body="Hi there")
            event: dict[str, Any] = {}
            while not event:
                line = stream.readline()
                if line.startswith(b"data: "):
                    event = json.loads(line.removeprefix(b"data: "))
    assert event["type"] == "message.inbound"
    assert event["message"]["body"] == "Hi there"


def test_page_stream_lets_go_of_a_closed_tab(emulator: RunningEmulator) -> None:
    """The page stream unsubscribes as soon as its client disconnects."""
    parts = urlsplit(emulator.base_url)
    bus = emulator.state.events
    before = bus.subscribers
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        with sock.makefile("rb") as stream:
            while stream.readline().strip() != b": connected":
                pass
            assert bus.subscribers == before + 1
    wait_until(lambda: bus.subscribers == before, "the subscription to close")


def stored_message(body: str) -> Message:
    """A stored message with `body` (for the pure view functions)."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return Message(
        sid="SM" + "1" * 32,
        account_sid="AC" + "1" * 32,
        to=PHONE,
        from_="+12015550123",
        body=body,
        status="queued",
        date_created=now,
        date_updated=now,
        num_segments=1,
    )
