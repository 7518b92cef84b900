"""`POST /v1/messages/preview` and `GET /v1/messages`: checks without sending; filtered paging."""

from __future__ import annotations

from herald.api.deps import ApiDeps
from tests.api.api_helpers import NL_MOBILE, Caller, ManualClock, assert_problem, sms


async def test_preview_returns_the_analysis(alice: Caller) -> None:
    """A preview answers 200 with the normalised recipient, sender, encoding and segments."""
    response = await alice.http.post("/v1/messages/preview", json=sms(body="Ça va? " * 30))
    assert response.status_code == 200
    preview = response.json()
    assert preview["to"] == NL_MOBILE
    assert preview["sender_kind"] == "phone_number"
    assert preview["encoding"] == "GSM-7"
    assert preview["segments"] == 2
    assert preview["status"] == "accepted"
    assert preview["analysis"]["segments"] == 2


async def test_preview_stores_nothing(alice: Caller, deps: ApiDeps) -> None:
    """A preview commits no message."""
    await alice.http.post("/v1/messages/preview", json=sms())
    assert (await deps.messages.list(alice.tenant.id)).items == ()


async def test_preview_refuses_like_sending(alice: Caller) -> None:
    """A preview of a refused message is the same problem sending would get."""
    response = await alice.http.post("/v1/messages/preview", json=sms(body=""))
    assert_problem(response, 422, "body_empty")


async def _send(caller: Caller, clock: ManualClock, count: int, **fields: object) -> list[str]:
    ids = []
    for _ in range(count):
        response = await caller.http.post("/v1/messages", json=sms(**fields))
        ids.append(response.json()["id"])
        clock.advance(1)
    return ids


async def test_list_pages_newest_first(alice: Caller, clock: ManualClock) -> None:
    """Messages come newest first, `limit` a page, following `next_cursor` to the end."""
    ids = await _send(alice, clock, 5)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await alice.http.get("/v1/messages", params=params)).json()
        seen += [message["id"] for message in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_list_filters_by_recipient_and_channel(alice: Caller, clock: ManualClock) -> None:
    """`to` and `channel` narrow the listing."""
    await _send(alice, clock, 2)
    wanted = await _send(alice, clock, 1, to="+31611111111")
    page = (await alice.http.get("/v1/messages", params={"to": "+31611111111"})).json()
    assert [message["id"] for message in page["data"]] == wanted
    whatsapp = (await alice.http.get("/v1/messages", params={"channel": "whatsapp"})).json()
    assert whatsapp["data"] == []


async def test_list_filters_by_status(alice: Caller, clock: ManualClock) -> None:
    """`status` narrows the listing."""
    await _send(alice, clock, 1)
    scheduled = await _send(alice, clock, 1, send_at="2030-02-01T12:00:00Z")
    page = (await alice.http.get("/v1/messages", params={"status": "scheduled"})).json()
    assert [message["id"] for message in page["data"]] == scheduled


async def test_list_filters_by_creation_range(alice: Caller, clock: ManualClock) -> None:
    """`created_from` and `created_to` bound the listing, inclusively."""
    ids = await _send(alice, clock, 3)
    params = {"created_from": "2030-01-31T12:00:01Z", "created_to": "2030-01-31T12:00:01Z"}
    page = (await alice.http.get("/v1/messages", params=params)).json()
    assert [message["id"] for message in page["data"]] == [ids[1]]


async def test_list_refuses_a_range_without_offset(alice: Caller) -> None:
    """A `created_from` without a UTC offset is `invalid_request`."""
    response = await alice.http.get("/v1/messages", params={"created_from": "2030-01-31T12:00"})
    assert assert_problem(response, 422, "invalid_request")["field"] == "created_from"


async def test_list_refuses_a_forged_cursor(alice: Caller) -> None:
    """A cursor Herald did not issue is `invalid_request`."""
    response = await alice.http.get("/v1/messages", params={"cursor": "bogus"})
    assert_problem(response, 422, "invalid_request")


async def test_list_refuses_a_malformed_recipient(alice: Caller) -> None:
    """A `to` filter that is not E.164 is `invalid_request` naming `to`."""
    response = await alice.http.get("/v1/messages", params={"to": "0612345678"})
    assert assert_problem(response, 422, "invalid_request")["field"] == "to"
