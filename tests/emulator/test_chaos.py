"""Chaos modes over real HTTP: latency, 429/500/503 answers, lost create responses and tampered
status callbacks; per account, validated, and reproducible from a seed.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from twilio.rest import Client

from herald.emulator.chaos import Chaos, ChaosSettings
from herald.emulator.messaging import messaging
from tests.emulator.conftest import RunningEmulator
from tests.emulator.message_helpers import Receiver, own_number, wait_until, webhook_receiver
from tests.emulator.rawhttp import Reply, basic, call

SENDER = "+14155550100"
RECIPIENT = "+14155552671"
SENT_AFTER = 0.05  # past the `sending` (0.02 s) and `sent` (0.04 s) steps, before `delivered`


def put_chaos(emulator: RunningEmulator, settings: dict[str, Any], path: str = "") -> Reply:
    """PUT chaos settings (JSON) to `/_emulator/chaos{path}`."""
    return call(
        "PUT",
        emulator.url(f"/_emulator/chaos{path}"),
        body=json.dumps(settings).encode(),
        headers={"Content-Type": "application/json"},
        validate=False,
    )


def create_key(emulator: RunningEmulator, account_sid: str | None = None) -> Reply:
    """POST a new API key for the main account (or `account_sid`) with raw HTTP."""
    sid = account_sid or emulator.config.account_sid
    return call(
        "POST",
        emulator.url(f"/2010-04-01/Accounts/{sid}/Keys.json"),
        auth=(emulator.config.account_sid, emulator.config.auth_token),
        form={"FriendlyName": "chaos"},
    )


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


def test_chaos_is_off_by_default(emulator: RunningEmulator) -> None:
    """GET /_emulator/chaos shows every rate at 0 and nothing counted."""
    reply = call("GET", emulator.url("/_emulator/chaos"), validate=False)
    default = reply.json["default"]
    assert default["too_many_requests"] == 0
    assert default["callback_drop"] == 0
    assert set(default["counts"].values()) == {0}
    assert reply.json["accounts"] == {}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"too_many_requests": 1.5}, "too_many_requests is a share"),
        ({"server_errors": -0.1}, "server_errors is a share"),
        ({"callback_drop": "half"}, "callback_drop must be a number"),
        ({"latency_ms": 1.5}, "latency_ms must be a whole number"),
        ({"flood": 1}, "Unknown chaos setting(s): flood"),
        ({"too_many_requests": 0.6, "unavailable": 0.6}, "must not exceed 1"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(
    emulator: RunningEmulator, settings: dict[str, Any], words: str
) -> None:
    """An out-of-range, mistyped, unknown or over-committed setting is a 400 naming it."""
    reply = put_chaos(emulator, settings)
    assert reply.status == 400
    assert words in reply.json["message"]


def test_too_many_requests_answers_twilio_429_without_processing(
    emulator: RunningEmulator,
) -> None:
    """At rate 1 every API request gets 429/20429, and nothing is created."""
    put_chaos(emulator, {"too_many_requests": 1})
    reply = create_key(emulator)
    assert reply.status == 429
    assert reply.json["code"] == 20429
    assert reply.json["message"] == "Too many requests"
    assert len(emulator.state.keys) == 0


@pytest.mark.parametrize(
    ("mode", "status", "code"), [("server_errors", 500, 20500), ("unavailable", 503, 20503)]
)
def test_server_faults_answer_twilio_bodies(
    emulator: RunningEmulator, mode: str, status: int, code: int
) -> None:
    """`server_errors` answers 500/20500 and `unavailable` 503/20503."""
    put_chaos(emulator, {mode: 1})
    reply = create_key(emulator)
    assert (reply.status, reply.json["code"]) == (status, code)


def test_seeded_rate_fails_a_reproducible_share(emulator: RunningEmulator) -> None:
    """With a seed, the same 20 requests meet the same faults, and the counts say how many."""
    runs = []
    for _ in range(2):
        put_chaos(emulator, {"seed": 7, "too_many_requests": 0.5})
        runs.append([create_key(emulator).status for _ in range(20)])
    counted = call("GET", emulator.url("/_emulator/chaos"), validate=False).json
    assert runs[0] == runs[1]
    assert 0 < runs[0].count(429) < 20
    assert counted["default"]["counts"]["too_many_requests"] == runs[1].count(429)


def test_latency_delays_api_requests(emulator: RunningEmulator) -> None:
    """`latency_ms` makes an API request take at least that long."""
    put_chaos(emulator, {"latency_ms": 300})
    started = time.monotonic()
    create_key(emulator)
    assert time.monotonic() - started >= 0.3


def test_control_api_is_never_failed(emulator: RunningEmulator) -> None:
    """Under full chaos the control API still answers normally."""
    put_chaos(emulator, {"server_errors": 1})
    assert call("GET", emulator.url("/_emulator/health"), validate=False).status == 200


def test_account_chaos_leaves_other_accounts_alone(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """Chaos set for a subaccount fails its requests and not the main account's."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="flaky")
    assert put_chaos(emulator, {"unavailable": 1}, f"/{sub.sid}").status == 200
    assert create_key(emulator, sub.sid).status == 503
    assert create_key(emulator).status == 201


def test_deleting_account_chaos_restores_the_default(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """After DELETE /_emulator/chaos/{AC} the account follows the default settings again."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="flaky")
    put_chaos(emulator, {"unavailable": 1}, f"/{sub.sid}")
    deleted = call("DELETE", emulator.url(f"/_emulator/chaos/{sub.sid}"), validate=False)
    assert deleted.status == 204
    assert create_key(emulator, sub.sid).status == 201


def test_chaos_for_an_unknown_account_is_404(emulator: RunningEmulator) -> None:
    """Settings for an account the emulator does not have are refused with 404."""
    reply = put_chaos(emulator, {"unavailable": 1}, "/AC" + "0" * 32)
    assert reply.status == 404


def test_v1_requests_meet_the_chaos_of_the_credentials_account(emulator: RunningEmulator) -> None:
    """A Messaging Services request (no account in its path) is failed by its caller's chaos."""
    put_chaos(emulator, {"too_many_requests": 1}, f"/{emulator.config.account_sid}")
    reply = call(
        "GET",
        emulator.url("/v1/Services"),
        auth=(emulator.config.account_sid, emulator.config.auth_token),
    )
    assert reply.status == 429


def test_reset_turns_chaos_off(emulator: RunningEmulator) -> None:
    """POST /_emulator/reset forgets every chaos setting."""
    put_chaos(emulator, {"server_errors": 1})
    call("POST", emulator.url("/_emulator/reset"), validate=False)
    assert create_key(emulator).status == 201


def test_lost_response_closes_the_connection_after_creating_the_message(
    emulator: RunningEmulator, sender: str
) -> None:
    """The client sees the connection closed without a response, yet the message exists."""
    put_chaos(emulator, {"lost_responses": 1})
    parts = urlsplit(emulator.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    account = emulator.config.account_sid
    body = urlencode({"To": RECIPIENT, "From": SENDER, "Body": "did it go?"})
    connection.request(
        "POST",
        f"/2010-04-01/Accounts/{account}/Messages.json",
        body=body,
        headers={
            "Authorization": basic(account, emulator.config.auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()
    connection.close()
    stored = list(messaging(emulator.state).store)
    assert [message.body for message in stored] == ["did it go?"]


def send_and_advance(
    emulator: RunningEmulator, client: Client, url: str, seconds: float = 1.0
) -> str:
    """Send a message with a status callback and move the clock until it is delivered."""
    message = client.messages.create(to=RECIPIENT, from_=SENDER, body="hi", status_callback=url)
    emulator.clock.advance(SENT_AFTER)
    wait_until(lambda: _status(emulator, message.sid) == "sent", "sent")
    emulator.clock.advance(seconds)
    wait_until(lambda: _status(emulator, message.sid) == "delivered", "delivered")
    return str(message.sid)


def _status(emulator: RunningEmulator, sid: str) -> str | None:
    message = messaging(emulator.state).store.lookup(sid)
    return None if message is None else message.status


def test_dropped_callbacks_are_never_sent(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """At `callback_drop` 1 neither the `sent` nor the `delivered` callback is sent."""
    put_chaos(emulator, {"callback_drop": 1})
    send_and_advance(emulator, twilio_client, receiver.url("/status"))
    counts = call("GET", emulator.url("/_emulator/chaos"), validate=False).json["default"]
    assert counts["counts"]["callback_drop"] == 2
    assert receiver.requests == []


def test_duplicated_callbacks_arrive_twice_with_one_token(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """At `callback_duplicate` 1 each callback arrives twice with the same idempotency token."""
    put_chaos(emulator, {"callback_duplicate": 1})
    send_and_advance(emulator, twilio_client, receiver.url("/status"))
    wait_until(lambda: len(receiver.requests) == 4, "four callbacks")
    assert sorted(receiver.statuses()) == ["delivered", "delivered", "sent", "sent"]
    tokens = {request.headers["I-Twilio-Idempotency-Token"] for request in receiver.requests}
    assert len(tokens) == 2


def test_delayed_callbacks_wait_for_the_clock(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """A delayed callback arrives only once the clock has moved by `callback_delay_ms`."""
    put_chaos(emulator, {"callback_delay": 1, "callback_delay_ms": 10_000})
    send_and_advance(emulator, twilio_client, receiver.url("/status"))
    wait_until(lambda: emulator.clock.pending >= 2, "delayed callbacks waiting")
    assert receiver.requests == []
    emulator.clock.advance(10)
    wait_until(lambda: len(receiver.requests) == 2, "delayed callbacks")


def _seed_reordering_first_callback_only() -> int:
    for seed in range(1000):
        chaos = Chaos(ChaosSettings(seed=seed, callback_reorder=0.5))
        if (chaos.callback_fault(), chaos.callback_fault()) == ("callback_reorder", None):
            return seed
    raise AssertionError("no seed reorders exactly the first callback")


def test_reordered_callback_is_overtaken_by_the_next(
    emulator: RunningEmulator, twilio_client: Client, sender: str, receiver: Receiver
) -> None:
    """A reordered `sent` callback arrives after the message's `delivered` callback."""
    seed = _seed_reordering_first_callback_only()
    put_chaos(emulator, {"seed": seed, "callback_reorder": 0.5})
    send_and_advance(emulator, twilio_client, receiver.url("/status"), seconds=0.02)
    wait_until(lambda: len(receiver.requests) == 1, "the delivered callback")
    emulator.clock.advance(1)
    wait_until(lambda: len(receiver.requests) == 2, "the held-back callback")
    assert receiver.statuses() == ["delivered", "sent"]
