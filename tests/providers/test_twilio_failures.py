"""How TwilioClient reports Twilio's refusals and overloads: permanent errors keep Twilio's
code, 429/5xx are retryable, `Retry-After` is honoured, reads are retried inside.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from herald.errors import AmbiguousSend, ProviderError, ProviderUnavailable
from herald.providers import RetryPolicy, SendRequest, TwilioClient, TwilioCredentials
from tests.providers.provider_helpers import (
    RECIPIENT,
    RunningEmulator,
    answering_server,
    chaos_counts,
    control,
    set_chaos,
)

UNOWNED_SENDER = "+15017122661"


async def send_error(client: TwilioClient, request: SendRequest) -> ProviderError:
    """The ProviderError a send raises."""
    with pytest.raises(ProviderError) as caught:
        await client.send_message(request)
    return caught.value


async def test_invalid_to_is_permanent_21211(client: TwilioClient, sender: str) -> None:
    """An invalid To comes back as Twilio's 21211 (HTTP 400), not retryable."""
    error = await send_error(client, SendRequest(to="12345", from_=sender, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (21211, 400, False)
    assert error.more_info == "https://www.twilio.com/docs/errors/21211"
    assert "12345" in error.message
    assert error.retry_after is None


async def test_unowned_from_is_permanent_21606(client: TwilioClient) -> None:
    """A From the account does not own is 21606, not retryable."""
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=UNOWNED_SENDER, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (21606, 400, False)


async def test_opted_out_recipient_is_permanent_21610(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """A recipient who texted STOP to the sender is 21610, not retryable."""
    await control(
        session,
        emulator,
        "POST",
        "/_emulator/inbound",
        {"from": RECIPIENT, "to": sender, "body": "STOP"},
    )
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=sender, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (21610, 400, False)


async def test_error_detail_names_the_code_and_the_advice(
    client: TwilioClient, sender: str
) -> None:
    """The error's detail says what failed, Twilio's code and whether to retry."""
    error = await send_error(client, SendRequest(to="12345", from_=sender, body="Hi"))
    assert "Twilio error 21211" in error.detail
    assert "resending it will not help" in error.detail


async def test_wrong_credentials_are_permanent_20003(
    session: aiohttp.ClientSession, emulator: RunningEmulator, sender: str
) -> None:
    """A wrong auth token is 401/20003, not retryable."""
    wrong = TwilioCredentials.auth_token(emulator.config.account_sid, "0" * 32)
    client = TwilioClient(session, wrong, base_url=emulator.base_url)
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=sender, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (20003, 401, False)


async def test_too_many_requests_is_retryable(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """The emulator's 429 chaos is 20429, retryable; it sends no Retry-After, so none is set."""
    await set_chaos(session, emulator, {"too_many_requests": 1})
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=sender, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (20429, 429, True)
    assert error.retry_after is None
    assert not isinstance(error, AmbiguousSend)


async def test_service_unavailable_is_retryable(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """The emulator's 503 chaos is 20503, retryable."""
    await set_chaos(session, emulator, {"unavailable": 1})
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=sender, body="Hi"))
    assert (error.provider_code, error.status, error.retryable) == (20503, 503, True)


async def test_a_send_is_attempted_only_once(
    client: TwilioClient, sender: str, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """A failed send is not retried inside the client: the outbox decides."""
    await set_chaos(session, emulator, {"server_errors": 1})
    error = await send_error(client, SendRequest(to=RECIPIENT, from_=sender, body="Hi"))
    assert (error.provider_code, error.retryable) == (20500, True)
    assert (await chaos_counts(session, emulator))["server_errors"] == 1


async def test_a_read_is_retried_inside_the_client(
    session: aiohttp.ClientSession, credentials: TwilioCredentials, emulator: RunningEmulator
) -> None:
    """A failing GET is tried `max_attempts` times, pausing as the read policy says."""
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, max_attempts=3, random=lambda: 0.5)
    client = TwilioClient(
        session, credentials, base_url=emulator.base_url, read_retry=policy, sleep=record
    )
    await set_chaos(session, emulator, {"unavailable": 1})
    with pytest.raises(ProviderError) as caught:
        await client.fetch_message("SM" + "0" * 32)
    assert caught.value.provider_code == 20503
    assert pauses == [0.05, 0.1]
    assert (await chaos_counts(session, emulator))["unavailable"] == 3


async def test_a_read_is_not_retried_after_a_permanent_error(
    client: TwilioClient, session: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    """A GET answered 404/20404 fails at once."""
    with pytest.raises(ProviderError) as caught:
        await client.fetch_message("SM" + "0" * 32)
    assert (caught.value.provider_code, caught.value.status) == (20404, 404)
    assert not caught.value.retryable


def twilio_429() -> bytes:
    """Twilio's 429 body."""
    return json.dumps(
        {
            "code": 20429,
            "message": "Too many requests",
            "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429,
        }
    ).encode()


async def test_retry_after_in_seconds_is_honoured(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A `Retry-After: 7` on a 429 becomes `retry_after == 7`."""
    async with answering_server(429, twilio_429(), {"Retry-After": "7"}) as url:
        client = TwilioClient(session, credentials, base_url=url)
        error = await send_error(client, SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))
    assert (error.provider_code, error.retryable, error.retry_after) == (20429, True, 7.0)


async def test_retry_after_as_an_http_date_is_honoured(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A `Retry-After` HTTP-date two minutes ahead becomes about 120 seconds."""
    when = datetime.now(UTC) + timedelta(seconds=120)
    header = format_datetime(when, usegmt=True)
    async with answering_server(503, b"{}", {"Retry-After": header}) as url:
        client = TwilioClient(session, credentials, base_url=url)
        error = await send_error(client, SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))
    assert error.retryable
    assert error.retry_after is not None
    assert 115 <= error.retry_after <= 121


async def test_an_error_page_that_is_not_json_keeps_the_status(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A 502 HTML page from a proxy is a retryable error without a Twilio code."""
    page = b"<html><body>Bad Gateway</body></html>"
    async with answering_server(502, page, {"Content-Type": "text/html"}) as url:
        client = TwilioClient(session, credentials, base_url=url)
        error = await send_error(client, SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))
    assert (error.provider_code, error.status, error.retryable) == (None, 502, True)
    assert "Bad Gateway" in error.message


async def test_a_created_answer_that_cannot_be_read_is_ambiguous(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A 201 whose body is not a Message means something was created: AmbiguousSend."""
    async with answering_server(201, b"created", {}) as url:
        client = TwilioClient(session, credentials, base_url=url)
        with pytest.raises(AmbiguousSend):
            await client.send_message(SendRequest(to=RECIPIENT, from_="+15005550006", body="x"))


async def test_a_read_answer_that_cannot_be_read_is_retryable(
    session: aiohttp.ClientSession, credentials: TwilioCredentials
) -> None:
    """A 200 to a GET whose body is not JSON is a retryable ProviderUnavailable."""

    async def no_pause(seconds: float) -> None:
        del seconds

    async with answering_server(200, b"<xml/>", {}) as url:
        client = TwilioClient(session, credentials, base_url=url, sleep=no_pause)
        with pytest.raises(ProviderUnavailable):
            await client.fetch_message("SM" + "0" * 32)
