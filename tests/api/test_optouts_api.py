"""`/v1/opt-outs/{address}`: reading, recording and lifting opt-outs by hand."""

from __future__ import annotations

from herald.api.deps import ApiDeps
from herald.domain.phone import Channel
from tests.api.api_helpers import NL_MOBILE, Caller, assert_problem, sms


async def test_unrecorded_address_is_not_opted_out(alice: Caller) -> None:
    """An address never recorded reads as not opted out, with no history."""
    response = await alice.http.get(f"/v1/opt-outs/{NL_MOBILE}")
    assert response.status_code == 200
    assert response.json() == {
        "address": NL_MOBILE,
        "channel": "sms",
        "opted_out": False,
        "source": None,
        "keyword": None,
        "updated_at": None,
        "history": [],
    }


async def test_put_records_an_opt_out_that_blocks_sending(alice: Caller) -> None:
    """PUT opts the address out (source `api`), and sending to it is then refused."""
    response = await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    assert response.status_code == 200
    assert response.json()["opted_out"] is True
    assert response.json()["source"] == "api"
    refused = await alice.http.post("/v1/messages", json=sms())
    assert_problem(refused, 422, "recipient_opted_out")


async def test_whatsapp_address_names_the_channel(alice: Caller, deps: ApiDeps) -> None:
    """`whatsapp:+E164` records a WhatsApp opt-out, stored under the bare number."""
    response = await alice.http.put(f"/v1/opt-outs/whatsapp:{NL_MOBILE}")
    assert response.json()["channel"] == "whatsapp"
    assert await deps.opt_outs.is_opted_out(alice.tenant.id, Channel.WHATSAPP, NL_MOBILE)
    assert not await deps.opt_outs.is_opted_out(alice.tenant.id, Channel.SMS, NL_MOBILE)


async def test_percent_encoded_plus_is_read(alice: Caller) -> None:
    """`%2B` in the path is the `+` of the number."""
    response = await alice.http.put("/v1/opt-outs/%2B31612345678")
    assert response.json()["address"] == NL_MOBILE


async def test_delete_lifts_the_opt_out(alice: Caller) -> None:
    """DELETE lifts the opt-out (204); sending is accepted again and the ledger keeps both."""
    await alice.http.put(f"/v1/opt-outs/{NL_MOBILE}")
    response = await alice.http.delete(f"/v1/opt-outs/{NL_MOBILE}")
    assert response.status_code == 204
    assert (await alice.http.post("/v1/messages", json=sms())).status_code == 202
    state = (await alice.http.get(f"/v1/opt-outs/{NL_MOBILE}")).json()
    assert state["opted_out"] is False
    assert [change["opted_out"] for change in state["history"]] == [True, False]


async def test_delete_without_an_opt_out_is_not_found(alice: Caller) -> None:
    """Lifting an opt-out that was never recorded is `not_found`."""
    response = await alice.http.delete(f"/v1/opt-outs/{NL_MOBILE}")
    assert_problem(response, 404, "not_found")


async def test_malformed_address_is_an_invalid_request(alice: Caller) -> None:
    """An address that is not E.164 is `invalid_request` naming `address`."""
    response = await alice.http.get("/v1/opt-outs/0612345678")
    assert assert_problem(response, 422, "invalid_request")["field"] == "address"
