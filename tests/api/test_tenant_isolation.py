"""A key of one tenant never sees or touches another tenant's data, endpoint by endpoint."""

from __future__ import annotations

from tests.api.api_helpers import NL_MOBILE, Caller, assert_problem, sms

URL = "https://shop.example/herald"


async def test_send_uses_only_the_own_tenants_opt_outs(alice: Caller, bob: Caller) -> None:
    """POST /v1/messages: alice's opt-outs do not block bob's messages."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    assert (await bob.http.post("/v1/messages", json=sms())).status_code == 202


async def test_send_uses_only_the_own_tenants_templates(alice: Caller, bob: Caller) -> None:
    """POST /v1/messages: a template is looked up in the caller's tenant only."""
    response = await bob.http.post(
        "/v1/messages", json=sms(body=None, template="otp", variables={"code": "1"})
    )
    assert response.status_code == 202
    assert response.json()["from"] == bob.tenant.settings.default_sender


async def test_preview_uses_only_the_own_tenants_opt_outs(alice: Caller, bob: Caller) -> None:
    """POST /v1/messages/preview: alice's opt-out does not affect bob's preview."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    assert (await bob.http.post("/v1/messages/preview", json=sms())).status_code == 200
    assert_problem(
        await alice.http.post("/v1/messages/preview", json=sms()), 422, "recipient_opted_out"
    )


async def test_message_of_another_tenant_is_not_found(alice: Caller, bob: Caller) -> None:
    """GET /v1/messages/{id}: another tenant's message is 404, as if it did not exist."""
    message = (await alice.http.post("/v1/messages", json=sms())).json()
    response = await bob.http.get(f"/v1/messages/{message['id']}")
    assert_problem(response, 404, "not_found")


async def test_listing_shows_only_the_own_tenants_messages(alice: Caller, bob: Caller) -> None:
    """GET /v1/messages: each tenant lists only its own messages."""
    mine = (await alice.http.post("/v1/messages", json=sms())).json()
    (await bob.http.post("/v1/messages", json=sms())).json()
    listed = (await alice.http.get("/v1/messages")).json()["data"]
    assert [message["id"] for message in listed] == [mine["id"]]


async def test_opt_out_of_another_tenant_is_invisible(alice: Caller, bob: Caller) -> None:
    """GET /v1/opt-outs/{address}: alice's opt-out reads as absent for bob."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    state = (await bob.http.get(f"/v1/opt-outs/{NL_MOBILE}")).json()
    assert state["opted_out"] is False
    assert state["history"] == []


async def test_put_opt_out_affects_only_the_own_tenant(alice: Caller, bob: Caller) -> None:
    """PUT /v1/opt-outs/{address}: bob's opt-out does not block alice."""
    await bob.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    assert (await alice.http.post("/v1/messages", json=sms())).status_code == 202


async def test_delete_cannot_lift_another_tenants_opt_out(alice: Caller, bob: Caller) -> None:
    """DELETE /v1/opt-outs/{address}: bob cannot lift alice's opt-out (404), and it stays."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    assert_problem(await bob.http.delete(f"/v1/opt-outs/{NL_MOBILE}"), 404, "not_found")
    assert (await alice.http.get(f"/v1/opt-outs/{NL_MOBILE}")).json()["opted_out"] is True


async def test_endpoints_are_listed_only_for_their_tenant(alice: Caller, bob: Caller) -> None:
    """POST and GET /v1/webhook-endpoints: bob does not see the endpoint alice created."""
    await alice.http.post("/v1/webhook-endpoints", json={"url": URL})
    assert (await bob.http.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_endpoint_of_another_tenant_cannot_be_deleted(alice: Caller, bob: Caller) -> None:
    """DELETE /v1/webhook-endpoints/{id}: bob gets 404 for alice's endpoint, which stays."""
    created = (await alice.http.post("/v1/webhook-endpoints", json={"url": URL})).json()
    response = await bob.http.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert_problem(response, 404, "not_found")
    assert len((await alice.http.get("/v1/webhook-endpoints")).json()["data"]) == 1


async def test_events_are_served_only_to_their_tenant(alice: Caller, bob: Caller) -> None:
    """GET /v1/events: alice's events never reach bob, even with alice's cursor."""
    await alice.http.post("/v1/messages", json=sms())
    assert (await bob.http.get("/v1/events")).json()["data"] == []
    assert (await bob.http.get("/v1/events", params={"after": "0"})).json()["data"] == []
