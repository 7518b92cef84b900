"""The pure parts of the Twilio client: form encoding, resource parsing, error classification,
Retry-After, credentials, request checks and the public names.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest

import herald.providers
from herald.errors import (
    AmbiguousSend,
    ConfigurationError,
    InvalidInput,
    ProviderError,
    ProviderUnavailable,
)
from herald.providers import SendRequest, TwilioCredentials
from herald.providers.twilio_errors import (
    error_from_answer,
    error_without_answer,
    is_retryable,
    parse_retry_after,
)
from herald.providers.twilio_wire import message_from_json, send_form

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "AC" + "a" * 32
KEY = "SK" + "b" * 32


def test_send_form_spells_every_field_as_twilio_expects() -> None:
    """Every parameter becomes its PascalCase field; lists repeat, booleans are true/false."""
    request = SendRequest(
        to="+14155552671",
        from_="+14155550100",
        messaging_service_sid="MG" + "1" * 32,
        body="Hi",
        media_urls=("https://e.com/a.png", "https://e.com/b.png"),
        content_sid="HX" + "2" * 32,
        content_variables={"1": "Ada"},
        status_callback="https://h.example/status",
        smart_encoded=True,
        validity_period=600,
        force_delivery=False,
    )
    assert send_form(request) == [
        ("To", "+14155552671"),
        ("From", "+14155550100"),
        ("MessagingServiceSid", "MG" + "1" * 32),
        ("Body", "Hi"),
        ("MediaUrl", "https://e.com/a.png"),
        ("MediaUrl", "https://e.com/b.png"),
        ("ContentSid", "HX" + "2" * 32),
        ("ContentVariables", '{"1": "Ada"}'),
        ("StatusCallback", "https://h.example/status"),
        ("SmartEncoded", "true"),
        ("ValidityPeriod", "600"),
        ("ForceDelivery", "false"),
    ]


def test_send_form_leaves_unset_fields_out() -> None:
    """Unset options are not sent, so the account's defaults apply."""
    form = send_form(SendRequest(to="+14155552671", from_="+14155550100", body="Hi"))
    assert form == [("To", "+14155552671"), ("From", "+14155550100"), ("Body", "Hi")]


def test_message_from_json_reads_twilio_strings() -> None:
    """String numbers, RFC 2822 dates and a negative price string become typed values."""
    message = message_from_json(
        {
            "sid": "SM" + "c" * 32,
            "account_sid": ACCOUNT,
            "to": "+14155552671",
            "from": "+14155550100",
            "body": "Hi",
            "status": "delivered",
            "direction": "outbound-api",
            "messaging_service_sid": None,
            "num_segments": "2",
            "num_media": "0",
            "error_code": None,
            "error_message": None,
            "price": "-0.00750",
            "price_unit": "USD",
            "date_created": "Wed, 01 Jan 2025 12:00:00 +0000",
            "date_updated": "Wed, 01 Jan 2025 12:00:03 +0000",
            "date_sent": "Wed, 01 Jan 2025 12:00:01 +0000",
        }
    )
    assert (message.num_segments, message.price, message.date_created) == (
        2,
        Decimal("-0.00750"),
        NOW,
    )
    assert message.date_sent == NOW + timedelta(seconds=1)


def test_message_from_json_refuses_a_body_without_sid() -> None:
    """A JSON object that is not a Message is a ValueError naming the resource."""
    with pytest.raises(ValueError, match="Message"):
        message_from_json({"status": "queued"})


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, 20429, True),
        (500, 20500, True),
        (503, 20503, True),
        (502, None, True),
        (400, 21211, False),
        (400, 21610, False),
        (400, 21614, False),
        (400, 21408, False),
        (400, 21606, False),
        (400, 21612, False),
        (400, 21617, False),
        (400, 30007, False),
        (401, 20003, False),
        (404, 20404, False),
    ],
)
def test_retryable_classification(status: int, code: int | None, *, retryable: bool) -> None:
    """429, 5xx and 20429/20500/20503 are retryable; other 4xx are permanent."""
    assert is_retryable(status, code) is retryable


def test_answer_keeps_twilio_code_message_and_link() -> None:
    """Twilio's JSON error becomes a ProviderError with its four fields."""
    body = json.dumps(
        {
            "code": 21211,
            "message": "The 'To' number 12345 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        }
    ).encode()
    error = error_from_answer(400, body, None, what="Sending", now=NOW)
    assert (error.provider_code, error.status, error.retryable) == (21211, 400, False)
    assert error.message == "The 'To' number 12345 is not a valid phone number."
    assert error.more_info == "https://www.twilio.com/docs/errors/21211"


def test_retry_after_is_ignored_on_a_permanent_error() -> None:
    """A Retry-After on a permanent error does not make it look retryable."""
    error = error_from_answer(400, b'{"code": 21211}', "5", what="Sending", now=NOW)
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Wed, 01 Jan 2025 12:01:00 GMT", 60.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),
        ("-3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    """Retry-After is delay-seconds or an HTTP-date; a past date is 0, nonsense is ignored."""
    assert parse_retry_after(header, NOW) == seconds


def test_connector_error_is_not_sent() -> None:
    """A connection that could not be made is ProviderUnavailable, even for a POST."""
    exc = aiohttp.ConnectionTimeoutError("connect timed out")
    error = error_without_answer(exc, what="Sending", idempotent=False, body_bytes_sent=0)
    assert isinstance(error, ProviderUnavailable)


def test_a_failure_before_any_body_byte_left_is_not_sent() -> None:
    """A POST that broke before one body byte reached the kernel was not carried out."""
    exc = aiohttp.ServerDisconnectedError()
    error = error_without_answer(exc, what="Sending", idempotent=False, body_bytes_sent=0)
    assert isinstance(error, ProviderUnavailable)


def test_a_failure_after_the_body_left_is_ambiguous() -> None:
    """A POST that broke after its body was written may have been carried out."""
    exc = aiohttp.ServerDisconnectedError()
    error = error_without_answer(exc, what="Sending", idempotent=False, body_bytes_sent=120)
    assert isinstance(error, AmbiguousSend)
    assert not error.retryable


def test_a_failed_read_is_never_ambiguous() -> None:
    """A GET that broke after sending is ProviderUnavailable: reads change nothing."""
    error = error_without_answer(
        TimeoutError(), what="Fetching", idempotent=True, body_bytes_sent=0
    )
    assert isinstance(error, ProviderUnavailable)


def test_an_unusable_url_is_a_configuration_error() -> None:
    """A base URL aiohttp cannot use is a ConfigurationError, not a retryable failure."""
    exc = aiohttp.InvalidURL("nowhere")
    error = error_without_answer(exc, what="Sending", idempotent=False, body_bytes_sent=0)
    assert isinstance(error, ConfigurationError)


def test_auth_token_credentials_authenticate_as_the_account() -> None:
    """Account credentials use the account SID as the Basic user."""
    credentials = TwilioCredentials.auth_token(ACCOUNT, "token")
    expected = base64.b64encode(f"{ACCOUNT}:token".encode()).decode()
    assert credentials.authorization() == f"Basic {expected}"


def test_api_key_credentials_authenticate_as_the_key() -> None:
    """API-key credentials use the key SID as the Basic user, acting on the account."""
    credentials = TwilioCredentials.api_key(ACCOUNT, KEY, "secret")
    assert credentials.username == KEY
    assert credentials.account_sid == ACCOUNT


def test_credentials_hide_the_secret_from_repr() -> None:
    """The secret never appears in a repr (logs, tracebacks)."""
    assert "hunter2" not in repr(TwilioCredentials.auth_token(ACCOUNT, "hunter2"))


@pytest.mark.parametrize(
    ("account", "key", "secret"),
    [("AC123", None, "t"), (ACCOUNT, "SK1", "t"), (ACCOUNT, None, ""), (KEY, None, "t")],
)
def test_malformed_credentials_are_refused(account: str, key: str | None, secret: str) -> None:
    """A SID of the wrong shape or an empty secret is InvalidInput."""
    with pytest.raises(InvalidInput):
        TwilioCredentials(account_sid=account, secret=secret, api_key_sid=key)


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "", "from_": "+1", "body": "x"},
        {"to": "+1", "body": "x"},
        {"to": "+1", "from_": "+1"},
        {"to": "+1", "from_": "+1", "body": "x" * 1601},
        {"to": "+1", "from_": "+1", "media_urls": ("u",) * 11},
        {"to": "+1", "from_": "+1", "body": "x", "content_variables": {"1": "a"}},
        {"to": "+1", "from_": "+1", "body": "x", "validity_period": 0},
        {"to": "+1", "from_": "+1", "body": "x", "validity_period": 36001},
    ],
)
def test_malformed_send_requests_are_refused(fields: dict[str, object]) -> None:
    """A request Twilio would certainly refuse is InvalidInput before it is sent."""
    with pytest.raises(InvalidInput):
        SendRequest(**fields)  # type: ignore[arg-type]


def test_provider_error_keeps_herald_code_and_twilio_code_apart() -> None:
    """`code` is Herald's stable string; Twilio's number is `provider_code`."""
    error = ProviderError("x", provider_code=21211, status=400)
    assert (error.code, error.provider_code) == ("provider_error", 21211)


def test_public_names_are_exactly_all() -> None:
    """`herald.providers.__all__` lists exactly the package's public names."""
    public = {
        name
        for name in vars(herald.providers)
        if not name.startswith("_")
        and not isinstance(getattr(herald.providers, name), type(herald.providers))
        and name != "annotations"
    }
    assert public == set(herald.providers.__all__)
