"""MessageLookup: which provider message a send attempt created."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from herald.errors import InvalidInput
from herald.providers import MessageLookup, ProviderMessage

START = datetime(2025, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
SENDER = "+14155550100"
SERVICE = "MG" + "1" * 32
RECIPIENT = "+14155552671"
CANDIDATE = ProviderMessage(
    sid="SM" + "a" * 32,
    account_sid="AC" + "b" * 32,
    to=RECIPIENT,
    from_=SENDER,
    body="Your code is 1234",
    status="queued",
    direction="outbound-api",
    messaging_service_sid=None,
    num_segments=1,
    num_media=0,
    error_code=None,
    error_message=None,
    price=None,
    price_unit="USD",
    date_created=START.replace(microsecond=0),
    date_updated=START.replace(microsecond=0),
    date_sent=None,
)


def lookup(**changes: object) -> MessageLookup:
    """The lookup for CANDIDATE's send, with `changes`."""
    fields: dict[str, object] = {
        "to": RECIPIENT,
        "from_": SENDER,
        "body": "Your code is 1234",
        "created_after": START,
        "created_before": START + timedelta(seconds=10),
    }
    return MessageLookup(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_created_message_matches_although_dates_are_whole_seconds() -> None:
    """Twilio's second-precision date_created matches a window starting mid-second."""
    assert lookup().matches(CANDIDATE)


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "+14155552672"},
        {"from_": "+14155550101"},
        {"direction": "inbound"},
        {"body": "Your code is 9999"},
        {"date_created": START + timedelta(seconds=11)},
        {"date_created": START - timedelta(seconds=1)},
    ],
)
def test_other_messages_do_not_match(changes: dict[str, object]) -> None:
    """Another recipient, sender, direction, body or time is not the message."""
    assert not lookup().matches(dataclasses.replace(CANDIDATE, **changes))  # type: ignore[arg-type]


def test_a_smart_encoded_body_matches() -> None:
    """The body Twilio stored after Smart Encoding matches the body Herald sent."""
    stored = dataclasses.replace(CANDIDATE, body='"Hi" - you')
    assert lookup(body="“Hi” — you").matches(stored)


def test_no_body_matches_any_body() -> None:
    """`body=None` (a Content template) matches on the other fields alone."""
    assert lookup(body=None).matches(dataclasses.replace(CANDIDATE, body="rendered"))


def test_a_service_send_matches_by_service_before_a_sender_is_picked() -> None:
    """A Messaging Service send matches by its Service SID while `from` is still empty."""
    pending = dataclasses.replace(CANDIDATE, from_=None, messaging_service_sid=SERVICE)
    assert lookup(from_=None, messaging_service_sid=SERVICE).matches(pending)
    assert not lookup(from_=None, messaging_service_sid="MG" + "2" * 32).matches(pending)


@pytest.mark.parametrize(
    "changes",
    [
        {"from_": None},
        {"created_after": START.replace(tzinfo=None)},
        {"created_before": START - timedelta(seconds=1)},
    ],
)
def test_a_lookup_that_cannot_work_is_refused(changes: dict[str, object]) -> None:
    """No sender, a naive datetime or an inverted window is InvalidInput."""
    with pytest.raises(InvalidInput):
        lookup(**changes)
