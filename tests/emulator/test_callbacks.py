"""Status callbacks: Twilio's parameters, a valid X-Twilio-Signature, the idempotency token, retries
and the webhook log; received over real HTTP by a local receiver.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from herald.emulator.callbacks import Callback, ConnectionSettings, DeliverNormally
from herald.emulator.messaging import messaging
from tests.emulator.conftest import RunningEmulator
from tests.emulator.message_helpers import Receiver, own_number, wait_until, webhook_receiver

SENDER = "+14155550100"
SENT_AFTER = 0.05  # past the `sending` (0.02 s) and `sent` (0.04 s) steps, before `delivered`


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1."""
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def sender(emulator: RunningEmulator) -> str:
    """A number the main account owns."""
    own_number(emulator.state, emulator.config.account_sid, SENDER)
    return SENDER


def send_and_settle(
    emulator: RunningEmulator, client: Client, url: str, to: str, attempts: tuple[int, int]
) -> str:
    """Send a message with a status callback; wait for the `sent` callback's attempts, then for
    the final status's, so the two never race."""
    message = client.messages.create(to=to, from_=SENDER, body="secret", status_callback=url)
    log = messaging(emulator.state).webhooks
    for seconds, count in ((SENT_AFTER, attempts[0]), (1, sum(attempts))):
        emulator.clock.advance(seconds)

        def arrived(expected: int = count) -> bool:
            return len(log.entries(resource_sid=message.sid)) >= expected

        wait_until(arrived, "callbacks")
    return str(message.sid)


def test_each_status_change_after_creation_is_called_back(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """A delivered message calls back `sent` then `delivered` (not `queued` nor `sending`)."""
    send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155552671", (1, 1))
    assert receiver.statuses() == ["sent", "delivered"]


def test_callback_carries_twilio_parameters_without_body(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """The callback has MessageSid, SmsSid, statuses, From, To, AccountSid and ApiVersion only."""
    sid = send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155552671", (1, 1))
    params = next(r.params for r in receiver.requests if r.params["MessageStatus"] == "sent")
    assert params == {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": emulator.config.account_sid,
        "From": SENDER,
        "To": "+14155552671",
        "MessageStatus": "sent",
        "SmsStatus": "sent",
        "ApiVersion": "2010-04-01",
    }


def test_undelivered_callback_carries_error_code(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """An undelivered message's callback has ErrorCode."""
    send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155550112", (1, 1))
    last = next(r for r in receiver.requests if r.params["MessageStatus"] == "undelivered")
    assert last.params["ErrorCode"] == "30003"


def test_callback_signature_validates_with_the_official_validator(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """X-Twilio-Signature validates with twilio's RequestValidator and the account's auth token."""
    url = receiver.url("/status?tenant=a")
    send_and_settle(emulator, twilio_client, url, "+14155552671", (1, 1))
    validator = RequestValidator(emulator.config.auth_token)
    for request in receiver.requests:
        signature = request.headers["X-Twilio-Signature"]
        assert validator.validate(url, request.params, signature)


def test_each_event_has_its_own_idempotency_token(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """Two status changes carry two different I-Twilio-Idempotency-Token values."""
    send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155552671", (1, 1))
    tokens = {request.headers["I-Twilio-Idempotency-Token"] for request in receiver.requests}
    assert len(tokens) == 2


def test_failed_callback_is_retried_with_the_same_token(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """A 500 answer is retried once, with the same idempotency token and signature."""
    receiver.replies.append(500)
    send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155552671", (2, 1))
    first, retry = (r for r in receiver.requests if r.params["MessageStatus"] == "sent")
    assert first.params == retry.params
    assert (
        first.headers["I-Twilio-Idempotency-Token"] == retry.headers["I-Twilio-Idempotency-Token"]
    )
    assert first.headers["X-Twilio-Signature"] == retry.headers["X-Twilio-Signature"]


def test_webhook_log_records_each_attempt(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """The webhook log keeps URL, status code, attempt number and signature of each attempt."""
    receiver.replies.append(503)
    sid = send_and_settle(emulator, twilio_client, receiver.url("/status"), "+14155552671", (2, 1))
    entries = messaging(emulator.state).webhooks.entries(resource_sid=sid)
    assert [(entry.event, entry.attempt, entry.status_code) for entry in entries] == [
        ("sent", 1, 503),
        ("sent", 2, 200),
        ("delivered", 1, 200),
    ]
    assert entries[0].url == receiver.url("/status")
    assert entries[0].signature == entries[1].signature


def test_connection_override_fragment_is_neither_sent_nor_signed(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """`#rc=0` stops retries; the fragment is not part of the URL requested or signed."""
    receiver.replies.append(500)
    url = receiver.url("/status")
    sid = send_and_settle(emulator, twilio_client, url + "#rc=0", "+14155552671", (1, 1))
    entries = messaging(emulator.state).webhooks.entries(resource_sid=sid)
    assert [(entry.event, entry.status_code) for entry in entries] == [
        ("sent", 500),
        ("delivered", 200),
    ]
    validator = RequestValidator(emulator.config.auth_token)
    for request in receiver.requests:
        assert validator.validate(url, request.params, request.headers["X-Twilio-Signature"])


def test_unreachable_callback_is_logged_as_a_connect_error(
    emulator: RunningEmulator, twilio_client: Client, sender: str
) -> None:
    """A refused connection is retried, then logged with its error and no status code."""
    with webhook_receiver() as gone:
        url = gone.url("/status")
    sid = send_and_settle(emulator, twilio_client, url, "+14155552671", (2, 2))
    entries = messaging(emulator.state).webhooks.entries(resource_sid=sid)
    assert all(entry.status_code is None and entry.error for entry in entries)
    assert [entry.attempt for entry in entries] == [1, 2, 1, 2]


def test_default_policy_delivers_each_callback_once_at_once() -> None:
    """The default CallbackPolicy plans one immediate copy and never loses a create response."""
    policy = DeliverNormally()
    callback = Callback("http://127.0.0.1/", (), "token", "id", "AC", "SM", "sent")
    assert list(policy.plan(callback)) == [0.0]
    assert policy.lose_create_response("SM") is False


def test_connection_overrides_are_clamped_to_twilio_ranges() -> None:
    """rc above 5 becomes 5 and ct below 100 ms becomes 100 ms."""
    base = ConnectionSettings(1, 5.0, 15.0, 15.0, frozenset({"ct"}))
    changed = base.with_overrides("rc=9&ct=5&rp=5xx")
    assert (changed.retries, changed.connect_timeout, changed.retry_on) == (
        5,
        0.1,
        frozenset({"5xx"}),
    )
