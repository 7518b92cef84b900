"""Inbound simulation over real HTTP: the inbound Message, Twilio's signed webhook to the number's
or Service's URL, TwiML replies sent as messages, the webhook log and the event stream.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from herald.emulator.messaging import messaging
from herald.emulator.whatsapp import whatsapp_state
from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import Answer, Application, application, control, inbound, seed
from tests.emulator.message_helpers import wait_until
from tests.emulator.rawhttp import call

PHONE = "+14155552671"


@pytest.fixture
def app() -> Iterator[Application]:
    """An application answering TwiML on 127.0.0.1."""
    with application() as running:
        yield running


@pytest.fixture
def number(emulator: RunningEmulator, app: Application) -> str:
    """A US number of the main account whose SmsUrl is the application's /sms."""
    seeded = seed(emulator, numbers=1, sms_url=app.url("/sms"))
    phone_number: str = seeded["numbers"][0]["phone_number"]
    return phone_number


def test_inbound_message_is_visible_through_the_messages_api(
    emulator: RunningEmulator, twilio_client: Client, number: str
) -> None:
    """The inbound message is an `inbound`, `received` SM… message of the number's account."""
    reply = inbound(emulator, from_=PHONE, to=number, body="Hello there")
    assert reply.status == 201
    sid = reply.json["message"]["sid"]
    fetched = twilio_client.messages(sid).fetch()
    assert (fetched.direction, fetched.status, fetched.from_, fetched.to) == (
        "inbound",
        "received",
        PHONE,
        number,
    )
    assert sid.startswith("SM")


def test_inbound_media_message_gets_an_mm_sid(emulator: RunningEmulator, number: str) -> None:
    """A message with media is MM… and counts its media."""
    reply = inbound(emulator, from_=PHONE, to=number, media_urls=["https://example.com/a.png"])
    message = reply.json["message"]
    assert message["sid"].startswith("MM")
    assert message["num_media"] == "1"


def test_webhook_carries_twilio_parameters(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """The webhook has Twilio's inbound parameters, geography included."""
    sid = inbound(emulator, from_=PHONE, to=number, body="Hi").json["message"]["sid"]
    params = app.requests[0].params
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == sid
    assert params["AccountSid"] == emulator.config.account_sid
    assert (params["From"], params["To"], params["Body"]) == (PHONE, number, "Hi")
    assert (params["NumMedia"], params["NumSegments"], params["SmsStatus"]) == (
        "0",
        "1",
        "received",
    )
    assert (params["ApiVersion"], params["ToCountry"], params["FromCountry"]) == (
        "2010-04-01",
        "US",
        "US",
    )
    assert {"FromCity", "FromState", "FromZip", "ToCity", "ToState", "ToZip"} <= set(params)


def test_webhook_lists_each_media_with_its_type(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """MediaUrlN and MediaContentTypeN are sent for each medium."""
    urls = ["https://example.com/a.png", "https://example.com/b.jpg"]
    inbound(emulator, from_=PHONE, to=number, media_urls=urls)
    params = app.requests[0].params
    assert (params["MediaUrl0"], params["MediaContentType0"]) == (urls[0], "image/png")
    assert (params["MediaUrl1"], params["MediaContentType1"]) == (urls[1], "image/jpeg")


def test_webhook_signature_validates_with_the_official_validator(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """X-Twilio-Signature validates with twilio's RequestValidator and the auth token."""
    inbound(emulator, from_=PHONE, to=number, body="Hi")
    request = app.requests[0]
    validator = RequestValidator(emulator.config.auth_token)
    signature = request.headers["X-Twilio-Signature"]
    assert validator.validate(app.url("/sms"), request.params, signature)
    assert request.headers["I-Twilio-Idempotency-Token"]


def test_get_webhook_carries_parameters_in_the_query(
    emulator: RunningEmulator, app: Application
) -> None:
    """With SmsMethod GET the parameters are in the query and the signature covers the URL."""
    number = seed(emulator, sms_url=app.url("/sms?x=1"), sms_method="GET")["numbers"][0]
    inbound(emulator, from_=PHONE, to=number["phone_number"], body="Hi")
    request = app.requests[0]
    assert request.method == "GET"
    assert request.query["Body"] == "Hi"
    entry = control(emulator, "GET", "/_emulator/webhooks").json["webhooks"][0]
    validator = RequestValidator(emulator.config.auth_token)
    assert validator.validate(entry["url"], {}, request.headers["X-Twilio-Signature"])


def test_twiml_messages_become_outbound_replies(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """Each <Message> is sent from the number, to the sender unless `to` says otherwise."""
    app.answer = Answer(
        body="<Response><Message>Thanks!</Message>"
        '<Message to="+14155550199"><Body>FYI</Body><Media>https://e.com/x.png</Media></Message>'
        "</Response>"
    )
    replies = inbound(emulator, from_=PHONE, to=number, body="Hi").json["replies"]
    assert [(r["from"], r["to"], r["body"], r["direction"]) for r in replies] == [
        (number, PHONE, "Thanks!", "outbound-reply"),
        (number, "+14155550199", "FYI", "outbound-reply"),
    ]
    assert replies[1]["num_media"] == "1"


def test_replies_go_through_the_delivery_lifecycle(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """A TwiML reply is delivered like any message once the clock moves."""
    app.answer = Answer(body="<Response><Message>Thanks!</Message></Response>")
    sid = inbound(emulator, from_=PHONE, to=number, body="Hi").json["replies"][0]["sid"]
    emulator.clock.advance(2)
    store = messaging(emulator.state).store
    wait_until(lambda: getattr(store.lookup(sid), "status", None) == "delivered", "delivery")
    reply = store.lookup(sid)
    assert reply is not None
    assert (reply.status, reply.body) == ("delivered", "Thanks!")


def test_plain_text_answer_is_sent_as_one_message(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """A text/plain answer is sent back as the body of one message."""
    app.answer = Answer(content_type="text/plain", body="Got it")
    replies = inbound(emulator, from_=PHONE, to=number, body="Hi").json["replies"]
    assert [reply["body"] for reply in replies] == ["Got it"]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (Answer(body='<!DOCTYPE r [<!ENTITY a "b">]><Response/>'), 12100),
        (Answer(body="<Response><Message>"), 12100),
        (Answer(body="<Say>Hi</Say>"), 12100),
        (Answer(content_type="application/json", body="{}"), 12300),
    ],
)
def test_unusable_answers_are_reported_and_send_nothing(
    emulator: RunningEmulator, number: str, app: Application, answer: Answer, code: int
) -> None:
    """A DTD, broken XML, a non-TwiML root or another content type is an error, no reply."""
    app.answer = answer
    result = inbound(emulator, from_=PHONE, to=number, body="Hi").json
    assert result["webhook"]["twiml_error"]["code"] == code
    assert result["replies"] == []


def test_failed_webhook_falls_back_with_error_parameters(
    emulator: RunningEmulator, twilio_client: Client, number: str, app: Application
) -> None:
    """A 500 from SmsUrl makes Twilio call SmsFallbackUrl with ErrorCode 11200 and ErrorUrl."""
    owned = twilio_client.incoming_phone_numbers.list(phone_number=number)[0]
    owned.update(sms_fallback_url=app.url("/fallback"))
    app.answer = Answer(status=500, body="")
    result = inbound(emulator, from_=PHONE, to=number, body="Hi").json
    fallback = app.requests[1]
    assert fallback.path == "/fallback"
    assert (fallback.params["ErrorCode"], fallback.params["ErrorUrl"]) == (
        "11200",
        app.url("/sms"),
    )
    assert result["webhook"]["event"] == "incoming-fallback"


def test_service_inbound_url_wins_over_the_number(
    emulator: RunningEmulator, app: Application
) -> None:
    """A number in a Messaging Service reports to the Service's URL, with MessagingServiceSid."""
    seeded = seed(
        emulator,
        sms_url=app.url("/number"),
        messaging_service={"inbound_request_url": app.url("/service")},
    )
    inbound(emulator, from_=PHONE, to=seeded["numbers"][0]["phone_number"], body="Hi")
    request = app.requests[0]
    assert request.path == "/service"
    assert request.params["MessagingServiceSid"] == seeded["messaging_service"]["sid"]


def test_whatsapp_inbound_opens_the_window_and_names_the_profile(
    emulator: RunningEmulator, app: Application
) -> None:
    """A whatsapp: message carries ProfileName and WaId and opens the 24-hour window."""
    number = seed(emulator, sms_url=app.url("/wa"), whatsapp=True)["numbers"][0]["phone_number"]
    inbound(
        emulator,
        from_=f"whatsapp:{PHONE}",
        to=f"whatsapp:{number}",
        body="Hi",
        profile_name="Ada",
    )
    params = app.requests[0].params
    assert (params["ProfileName"], params["WaId"]) == ("Ada", PHONE.removeprefix("+"))
    window = whatsapp_state(emulator.state)
    assert window.is_open(number, PHONE, emulator.clock.now())


def test_unknown_to_is_a_clear_404(emulator: RunningEmulator) -> None:
    """A `to` that no account bought is refused with a message saying to buy it."""
    reply = inbound(emulator, from_=PHONE, to="+14155550000", body="Hi")
    assert reply.status == 404
    assert "not a number bought" in reply.json["message"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"from_": "0612345678"}, "E.164"),
        ({"from_": f"whatsapp:{PHONE}"}, "both be whatsapp"),
        ({"body": ""}, "Give a body"),
        ({"colour": "red"}, "Unknown field(s) colour"),
    ],
)
def test_invalid_inbound_is_a_clear_400(
    emulator: RunningEmulator, number: str, fields: dict[str, Any], words: str
) -> None:
    """A malformed sender, mixed channels, no content or an unknown field is a 400 saying so."""
    request = {"from_": PHONE, "to": number, "body": "Hi", **fields}
    reply = inbound(emulator, **request)
    assert reply.status == 400
    assert words in reply.json["message"]


def test_form_encoded_inbound_is_accepted(emulator: RunningEmulator, number: str) -> None:
    """The control endpoint also takes a form body, media_urls repeated."""
    form = [("from", PHONE), ("to", number), ("media_urls", "https://e.com/a.gif")]
    reply = call("POST", emulator.url("/_emulator/inbound"), form=form, validate=False)
    assert reply.status == 201
    assert reply.json["message"]["num_media"] == "1"


def test_webhook_log_shows_the_attempt_and_the_answer(
    emulator: RunningEmulator, number: str, app: Application
) -> None:
    """GET /_emulator/webhooks lists the attempt with method, status, params and answer."""
    app.answer = Answer(body="<Response><Message>Thanks!</Message></Response>")
    inbound(emulator, from_=PHONE, to=number, body="Hi")
    entries = control(emulator, "GET", "/_emulator/webhooks?event=incoming").json["webhooks"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["method"], entry["status_code"], entry["attempt"]) == ("POST", 200, 1)
    assert entry["params"]["Body"] == "Hi"
    assert "Thanks!" in entry["response_excerpt"]
    assert entry["signature"] == app.requests[0].headers["X-Twilio-Signature"]


def test_webhook_log_filters_are_validated(emulator: RunningEmulator) -> None:
    """An unknown outcome filter is a 400."""
    assert control(emulator, "GET", "/_emulator/webhooks?outcome=maybe").status == 400


def read_events(emulator: RunningEmulator, count: int, trigger: Any) -> list[dict[str, Any]]:
    """Open the SSE stream, run `trigger`, and read `count` events (5 s at most)."""
    parts = urlsplit(emulator.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"GET /_emulator/events?types=message.created,message.inbound HTTP/1.1\r\n")
        sock.sendall(f"Host: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        stream = sock.makefile("rb")
        while stream.readline().strip() != b": connected":
            pass
        trigger()
        events: list[dict[str, Any]] = []
        while len(events) < count:
            line = stream.readline()
            if line.startswith(b"data: "):
                events.append(json.loads(line.removeprefix(b"data: ")))
        return events


def test_event_stream_reports_the_inbound_message(emulator: RunningEmulator, number: str) -> None:
    """GET /_emulator/events streams message.created and message.inbound as SSE."""
    events = read_events(emulator, 2, lambda: inbound(emulator, from_=PHONE, to=number, body="Hi"))
    assert [event["type"] for event in events] == ["message.created", "message.inbound"]
    assert events[1]["message"]["body"] == "Hi"
