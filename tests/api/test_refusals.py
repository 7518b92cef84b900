"""Every refusal of the send policy reaches the application as its problem document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from herald.api.deps import ApiDeps
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource, TenantSettings
from tests.api.api_helpers import (
    CONTENT_SID,
    NL_MOBILE,
    NOW,
    US_MOBILE,
    Caller,
    assert_problem,
    sms,
)

REFUSALS: list[tuple[str, dict[str, Any]]] = [
    ("invalid_request", sms(content_sid="HX12", body=None)),
    ("invalid_request", sms(media_urls=["ftp://example.com/a.png"])),
    ("invalid_recipient", sms(to="not a number")),
    ("unknown_country_code", sms(to="+99912345678")),
    ("recipient_not_mobile", sms(to="+31201234567")),
    ("channel_mismatch", sms(to=f"whatsapp:{NL_MOBILE}")),
    ("invalid_sender", sms(**{"from": "FarTooLongSenderId"})),
    ("sender_not_allowed", sms(to=US_MOBILE, **{"from": "MyShop"})),
    ("sender_cannot_receive_replies", sms(reply_expected=True, **{"from": "MyShop"})),
    ("conflicting_content", sms(template="otp")),
    ("body_empty", sms(body="   ")),
    ("body_empty", sms(body=None)),
    ("body_too_long", sms(body="a" * 1601)),
    ("invalid_send_at", sms(send_at="2030-01-31T09:00:00+00:00")),
    ("invalid_send_at", sms(send_at="2030-01-31T15:00:00")),
    ("invalid_send_at", sms(send_at="tomorrow")),
    ("unknown_template", sms(body=None, template="nope")),
    ("missing_template_variable", sms(body=None, template="otp", variables={"cod": "1"})),
    ("whatsapp_window_closed", sms(channel="whatsapp")),
]


@pytest.mark.parametrize(("code", "request_body"), REFUSALS, ids=[code for code, _ in REFUSALS])
async def test_refusal_is_a_problem_with_its_code(
    alice: Caller, deps: ApiDeps, code: str, request_body: dict[str, Any]
) -> None:
    """A request breaking a sending rule is refused with that rule's code, and nothing is stored."""
    response = await alice.http.post("/v1/messages", json=request_body)
    assert_problem(response, 422, code)
    page = await deps.messages.list(alice.tenant.id)
    assert page.items == ()


async def test_opted_out_recipient_is_refused(alice: Caller, deps: ApiDeps) -> None:
    """A recipient who opted out of SMS is refused with `recipient_opted_out`."""
    await deps.opt_outs.set(
        alice.tenant.id,
        Channel.SMS,
        NL_MOBILE,
        opted_out=True,
        source=OptOutSource.KEYWORD,
        now=NOW,
    )
    response = await alice.http.post("/v1/messages", json=sms())
    document = assert_problem(response, 422, "recipient_opted_out")
    assert document["address"] == NL_MOBILE
    assert document["channel"] == "sms"


async def test_whatsapp_window_closed_names_when_it_closed(alice: Caller, deps: ApiDeps) -> None:
    """A WhatsApp body after the window closed is refused with the time it closed."""
    await deps.inbound.record_window(
        alice.tenant.id,
        business="whatsapp:+31687654321",
        customer=f"whatsapp:{NL_MOBILE}",
        at=NOW.replace(day=29),
    )
    response = await alice.http.post("/v1/messages", json=sms(channel="whatsapp"))
    document = assert_problem(response, 422, "whatsapp_window_closed")
    assert document["window_closed_at"] == "2030-01-30T12:00:00.000Z"


async def test_whatsapp_template_is_sent_outside_the_window(alice: Caller) -> None:
    """A Content template may start a WhatsApp conversation: it is accepted."""
    response = await alice.http.post(
        "/v1/messages",
        json=sms(
            channel="whatsapp", body=None, content_sid=CONTENT_SID, content_variables={"1": "x"}
        ),
    )
    assert response.status_code == 202
    assert response.json()["content_sid"] == CONTENT_SID


async def _bare_tenant(app: FastAPI, deps: ApiDeps, settings: TenantSettings) -> httpx.AsyncClient:
    tenant = await deps.tenants.create("bare", now=NOW, settings=settings)
    key = (await deps.api_keys.create(tenant.id, now=NOW)).key
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://herald.test",
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_number_without_country_code_needs_a_region(app: FastAPI, deps: ApiDeps) -> None:
    """A national number for a tenant without a default region is `missing_country_code`."""
    async with await _bare_tenant(app, deps, TenantSettings(default_sender="+31687654321")) as http:
        response = await http.post("/v1/messages", json=sms(to="06 12345678"))
    assert_problem(response, 422, "missing_country_code")


async def test_tenant_without_sender_needs_from(app: FastAPI, deps: ApiDeps) -> None:
    """No `from`, no default sender and no Messaging Service is `sender_required`."""
    async with await _bare_tenant(app, deps, TenantSettings(default_region="NL")) as http:
        response = await http.post("/v1/messages", json=sms())
    assert_problem(response, 422, "sender_required")


async def test_broken_stored_template_is_invalid_template(app: FastAPI, deps: ApiDeps) -> None:
    """A stored template with an unclosed placeholder is refused as `invalid_template`."""
    settings = TenantSettings(
        default_region="NL", default_sender="+31687654321", templates={"bad": "Hi {{name"}
    )
    async with await _bare_tenant(app, deps, settings) as http:
        response = await http.post("/v1/messages", json=sms(body=None, template="bad"))
    assert_problem(response, 422, "invalid_template")


async def test_unknown_field_is_an_invalid_request_naming_it(alice: Caller) -> None:
    """A misspelt field is refused as `invalid_request` with the field named."""
    response = await alice.http.post("/v1/messages", json={**sms(), "bdy": "x"})
    document = assert_problem(response, 422, "invalid_request")
    assert document["field"] == "bdy"


async def test_wrong_type_is_an_invalid_request(alice: Caller) -> None:
    """A field of the wrong type is refused as `invalid_request` naming the field."""
    response = await alice.http.post("/v1/messages", json=sms(to=31612345678))
    document = assert_problem(response, 422, "invalid_request")
    assert document["field"] == "to"
    assert document["errors"][0]["field"] == "to"


async def test_unknown_channel_is_an_invalid_request(alice: Caller) -> None:
    """A channel other than sms or whatsapp is `invalid_request` naming `channel`."""
    response = await alice.http.post("/v1/messages", json=sms(channel="pigeon"))
    assert assert_problem(response, 422, "invalid_request")["field"] == "channel"


async def test_malformed_json_is_an_invalid_request(alice: Caller) -> None:
    """A body that is not JSON is `invalid_request`, not a traceback."""
    response = await alice.http.post(
        "/v1/messages", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "invalid_request")
