"""Two tenants on one Herald: a key of one never sees the other's data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.helpers import RunningHerald, assert_problem, create_tenant, send, text_herald

PHONE = "+12015550103"
DUTCH_PHONE = "+31612345671"


@pytest.fixture
async def other_tenant(herald: RunningHerald) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the key of a second tenant, `shop`, on the same Herald."""
    key = await create_tenant(herald, "shop")
    async with httpx.AsyncClient(
        base_url=herald.api_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False
    ) as client:
        yield client


async def test_another_tenant_cannot_read_the_message(
    herald: RunningHerald, other_tenant: httpx.AsyncClient
) -> None:
    """The default tenant's message is 404 to the other tenant's key, as if it did not exist."""
    message = await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")

    response = await other_tenant.get(f"/v1/messages/{message['id']}")

    assert_problem(response, 404, "not_found")


async def test_another_tenant_does_not_list_the_message(
    herald: RunningHerald, other_tenant: httpx.AsyncClient
) -> None:
    """The other tenant's message list leaves the default tenant's message out."""
    await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")

    response = await other_tenant.get("/v1/messages", params={"to": PHONE})

    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


async def test_another_tenant_does_not_see_the_opt_out(
    herald: RunningHerald, other_tenant: httpx.AsyncClient
) -> None:
    """A person's opt-out from the default tenant is not one from the other tenant."""
    await text_herald(herald, DUTCH_PHONE, "AFMELDEN")
    assert (await herald.api.get(f"/v1/opt-outs/{DUTCH_PHONE}")).json()["opted_out"] is True

    response = await other_tenant.get(f"/v1/opt-outs/{DUTCH_PHONE}")

    assert response.status_code == 200, response.text
    assert response.json()["opted_out"] is False
    assert response.json()["history"] == []


async def test_another_tenant_does_not_receive_the_events(
    herald: RunningHerald, other_tenant: httpx.AsyncClient
) -> None:
    """The default tenant's events are not served to the other tenant's poller."""
    await send(herald, channel="sms", to=PHONE, body="Your order has shipped.")
    assert (await herald.api.get("/v1/events")).json()["data"] != []

    response = await other_tenant.get("/v1/events")

    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
