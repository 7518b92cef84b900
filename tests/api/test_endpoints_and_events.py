"""`/v1/webhook-endpoints` and `GET /v1/events`."""

from __future__ import annotations

from herald.api.deps import ApiDeps
from tests.api.api_helpers import NL_MOBILE, Caller, assert_problem, sms

URL = "https://shop.example/herald"


async def test_create_endpoint_shows_its_secret_once(alice: Caller) -> None:
    """Creating an endpoint answers 201 with its `whsec_` secret; listing never shows it."""
    created = await alice.http.post("/v1/webhook-endpoints", json={"url": URL})
    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    listed = (await alice.http.get("/v1/webhook-endpoints")).json()["data"]
    assert listed == [
        {
            "id": created.json()["id"],
            "url": URL,
            "event_types": [],
            "created_at": created.json()["created_at"],
        }
    ]


async def test_endpoint_secret_is_stored_for_signing(alice: Caller, deps: ApiDeps) -> None:
    """The secret shown is the one Herald keeps to sign deliveries."""
    created = (await alice.http.post("/v1/webhook-endpoints", json={"url": URL})).json()
    assert await deps.endpoints.secret(created["id"]) == created["secret"]


async def test_unknown_event_type_is_an_invalid_request(alice: Caller) -> None:
    """An event type Herald does not have is refused, naming `event_types`."""
    response = await alice.http.post(
        "/v1/webhook-endpoints", json={"url": URL, "event_types": ["message.exploded"]}
    )
    assert assert_problem(response, 422, "invalid_request")["field"] == "event_types"


async def test_non_http_url_is_an_invalid_request(alice: Caller) -> None:
    """A URL that is not absolute http(s) is refused."""
    response = await alice.http.post("/v1/webhook-endpoints", json={"url": "ftp://x"})
    assert_problem(response, 422, "invalid_request")


async def test_delete_endpoint_removes_it_from_the_list(alice: Caller) -> None:
    """DELETE answers 204 and the endpoint is no longer listed; deleting again is 404."""
    created = (await alice.http.post("/v1/webhook-endpoints", json={"url": URL})).json()
    assert (await alice.http.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 204
    assert (await alice.http.get("/v1/webhook-endpoints")).json()["data"] == []
    again = await alice.http.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert_problem(again, 404, "not_found")


async def test_events_serve_status_changes_in_order(alice: Caller) -> None:
    """Accepting a message and an opt-out produce events, oldest first, in the public envelope."""
    message = (await alice.http.post("/v1/messages", json=sms())).json()
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    page = (await alice.http.get("/v1/events")).json()
    assert [event["type"] for event in page["data"]] == [
        "message.status_changed",
        "opt_out.changed",
    ]
    first = page["data"][0]
    assert first["id"].startswith("evt_")
    assert first["data"]["message_id"] == message["id"]
    assert first["created_at"] == "2030-01-31T12:00:00.000Z"


async def test_events_cursor_continues_after_the_last_seen(alice: Caller) -> None:
    """Polling with `next_cursor` returns only newer events, and the cursor stays when idle."""
    await alice.http.post("/v1/messages", json=sms())
    first = (await alice.http.get("/v1/events")).json()
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    second = (await alice.http.get("/v1/events", params={"after": first["next_cursor"]})).json()
    assert [event["type"] for event in second["data"]] == ["opt_out.changed"]
    idle = (await alice.http.get("/v1/events", params={"after": second["next_cursor"]})).json()
    assert idle["data"] == []
    assert idle["next_cursor"] == second["next_cursor"]


async def test_events_limit_and_has_more(alice: Caller) -> None:
    """`limit` caps a page and `has_more` says more are waiting."""
    for _ in range(3):
        await alice.http.post("/v1/messages", json=sms())
    page = (await alice.http.get("/v1/events", params={"limit": "2"})).json()
    assert len(page["data"]) == 2
    assert page["has_more"] is True


async def test_events_filter_by_type(alice: Caller) -> None:
    """`types` keeps only the named event types."""
    await alice.http.post("/v1/messages", json=sms())
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    page = (await alice.http.get("/v1/events", params={"types": "opt_out.changed"})).json()
    assert [event["type"] for event in page["data"]] == ["opt_out.changed"]


async def test_events_refuse_a_forged_cursor(alice: Caller) -> None:
    """An `after` that is not a cursor Herald issued is `invalid_request`."""
    response = await alice.http.get("/v1/events", params={"after": "evt_abc"})
    assert assert_problem(response, 422, "invalid_request")["field"] == "after"
