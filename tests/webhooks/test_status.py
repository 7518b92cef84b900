"""Status callbacks: signed, de-duplicated, forwards only, and safe when they come early."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import MessageRecord, NewMessage, StatusChange, Tenant
from herald.storage.messages import MessageRepository
from herald.storage.outbox import Outbox
from tests.webhooks.webhook_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    START,
    post,
    status_form,
    twilio_post,
)

PATH = "/webhooks/twilio/status"
SID = "SM" + "5" * 32


async def _sent_message(engine: AsyncEngine, tenant: Tenant, sid: str = SID) -> MessageRecord:
    messages = MessageRepository(engine)
    accepted = await messages.accept(
        tenant.id,
        NewMessage(Channel.SMS, "+31612345678", "+14155550100", "Hello", "GSM-7", 1),
        now=START,
    )
    outbox = Outbox(engine)
    await outbox.claim("worker", now=START, lease_seconds=30, limit=1)
    await outbox.mark_sent(accepted.message.id, "worker", now=START, provider_sid=sid)
    return accepted.message


async def _state(engine: AsyncEngine, message: MessageRecord) -> tuple[Status, list[StatusChange]]:
    messages = MessageRepository(engine)
    stored = await messages.get(message.tenant_id, message.id)
    history = await messages.history(message.tenant_id, message.id)
    assert stored is not None
    assert history is not None
    return stored.status, [change for change in history if change.source.value == "callback"]


async def test_a_signed_callback_moves_the_status(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A delivered callback signed with the account's token moves the message to delivered."""
    message = await _sent_message(engine, tenant)
    answer = await twilio_post(app, PATH, status_form(SID, "delivered"))
    assert answer.status == 200
    status, callbacks = await _state(engine, message)
    assert status is Status.DELIVERED
    assert [change.provider_status for change in callbacks] == ["delivered"]


async def test_a_forged_callback_is_refused(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A callback signed with another token gets 403 and changes nothing."""
    message = await _sent_message(engine, tenant)
    answer = await twilio_post(app, PATH, status_form(SID, "delivered"), token="f" * 32)
    assert answer.status == 403
    assert await _state(engine, message) == (Status.QUEUED, [])


async def test_a_callback_without_a_signature_is_refused(app: FastAPI, tenant: Tenant) -> None:
    """No X-Twilio-Signature header: 403."""
    body = f"MessageSid=SM1&MessageStatus=sent&AccountSid={ACCOUNT_SID}".encode()
    answer = await post(app, PATH, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 403


async def test_a_callback_for_an_unknown_account_is_refused(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """An AccountSid no tenant has: 403."""
    form = [(name, "AC" + "9" * 32 if name == "AccountSid" else value) for name, value in
            status_form(SID, "sent")]  # fmt: skip
    assert (await twilio_post(app, PATH, form)).status == 403


async def test_a_replayed_callback_is_applied_once(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same idempotency token twice: one history entry."""
    message = await _sent_message(engine, tenant)
    token = {"I-Twilio-Idempotency-Token": "token-1"}
    for _ in range(2):
        answer = await twilio_post(app, PATH, status_form(SID, "sent"), headers=token)
        assert answer.status == 200
    assert len((await _state(engine, message))[1]) == 1


async def test_without_a_token_sid_and_status_de_duplicate(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """Without an idempotency token, MessageSid:MessageStatus is the key."""
    message = await _sent_message(engine, tenant)
    await twilio_post(app, PATH, status_form(SID, "sent"))
    await twilio_post(app, PATH, status_form(SID, "sent"))
    assert len((await _state(engine, message))[1]) == 1


async def test_a_late_sent_after_delivered_is_kept_but_not_applied(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A sent arriving after delivered is in the history, and the status stays delivered."""
    message = await _sent_message(engine, tenant)
    await twilio_post(app, PATH, status_form(SID, "delivered"))
    await twilio_post(app, PATH, status_form(SID, "sent"))
    status, callbacks = await _state(engine, message)
    assert status is Status.DELIVERED
    assert [(c.provider_status, c.applied) for c in callbacks] == [
        ("delivered", True),
        ("sent", False),
    ]


async def test_an_error_code_is_recorded(app: FastAPI, engine: AsyncEngine, tenant: Tenant) -> None:
    """An undelivered callback's ErrorCode is kept on the message."""
    message = await _sent_message(engine, tenant)
    await twilio_post(app, PATH, status_form(SID, "undelivered", ErrorCode="30003"))
    stored = await MessageRepository(engine).get(tenant.id, message.id)
    assert stored is not None
    assert (stored.status, stored.error_code) == (Status.UNDELIVERED, 30003)


async def test_a_callback_before_the_sid_is_known_is_asked_again(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """An unknown SID gets 503, and the same callback is applied once the SID is recorded."""
    token = {"I-Twilio-Idempotency-Token": "early"}
    early = await twilio_post(app, PATH, status_form(SID, "sent"), headers=token)
    assert (early.status, early.headers.get("retry-after")) == (503, "5")
    message = await _sent_message(engine, tenant)
    assert (await twilio_post(app, PATH, status_form(SID, "sent"), headers=token)).status == 200
    assert (await _state(engine, message))[0] is Status.SENT


async def test_another_content_type_is_refused(app: FastAPI, tenant: Tenant) -> None:
    """A JSON body is 415, not a server error."""
    answer = await post(app, PATH, b"{}", {"Content-Type": "application/json"})
    assert answer.status == 415


async def test_an_oversized_body_is_refused(app: FastAPI, tenant: Tenant) -> None:
    """A body over the limit is 413."""
    body = b"Body=" + b"x" * 70_000
    answer = await post(app, PATH, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 413


async def test_a_form_that_is_not_utf8_is_refused(app: FastAPI, tenant: Tenant) -> None:
    """Bytes that are not UTF-8 are 400."""
    answer = await post(
        app, PATH, b"Body=%ff%fe", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status == 400


async def test_forwarded_headers_from_a_trusted_proxy_are_used(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """Signed over the proxy's public host, a callback via a trusted proxy validates."""
    message = await _sent_message(engine, tenant)
    answer = await twilio_post(
        app,
        PATH,
        status_form(SID, "delivered"),
        signed_url="https://hooks.example.org" + PATH,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"},
        client=("10.1.2.3", 5000),
    )
    assert answer.status == 200
    assert (await _state(engine, message))[0] is Status.DELIVERED


async def test_forwarded_headers_from_anyone_else_are_ignored(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same request from an untrusted peer is refused: its headers choose nothing."""
    await _sent_message(engine, tenant)
    answer = await twilio_post(
        app,
        PATH,
        status_form(SID, "delivered"),
        signed_url="https://hooks.example.org" + PATH,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"},
    )
    assert answer.status == 403


async def test_the_official_validators_signature_is_accepted(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A signature computed by twilio's own RequestValidator validates."""
    message = await _sent_message(engine, tenant)
    form = status_form(SID, "read")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + PATH, dict(form))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    answer = await post(app, PATH, urlencode(form).encode(), headers)
    assert answer.status == 200
    assert (await _state(engine, message))[0] is Status.READ
