"""The delivery overview, opt-outs and webhook endpoint pages, over stored data."""

from __future__ import annotations

from datetime import timedelta

import httpx

from herald.api import ApiDeps
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource, Tenant
from herald.storage.crypto import SecretBox
from herald.storage.deliveries import EventDeliveries
from tests.admin.admin_helpers import NL_MOBILE, NOW, US_MOBILE, store_message


async def test_the_chart_counts_each_day_by_outcome(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """The chart's table counts yesterday's and today's messages by final outcome."""
    await store_message(deps, tenant.id, at=NOW - timedelta(days=1), outcome=Status.DELIVERED)
    await store_message(deps, tenant.id, outcome=Status.DELIVERED)
    await store_message(deps, tenant.id, outcome=Status.UNDELIVERED, error_code=30003)
    await store_message(deps, tenant.id)
    page = (await admin.get("/admin/overview?days=7")).text
    assert (
        "<tr><td>2030-01-30</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>"
        in page
    )
    assert (
        "<tr><td>2030-01-31</td><td>1</td><td>1</td><td>0</td><td>0</td><td>1</td><td>3</td></tr>"
        in page
    )
    assert page.count('class="cat-delivered"') == 2


async def test_delivery_rate_and_cost_by_country(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """Each country shows its delivery rate and the estimated cost of its billed segments."""
    await store_message(deps, tenant.id, to=NL_MOBILE, outcome=Status.DELIVERED)
    await store_message(deps, tenant.id, to=NL_MOBILE, outcome=Status.UNDELIVERED, error_code=30005)
    await store_message(deps, tenant.id, to=US_MOBILE, outcome=Status.DELIVERED)
    page = (await admin.get("/admin/overview")).text
    countries = page[page.index('id="countries"') :]
    assert (
        "<td>Netherlands (NL)</td><td>2</td><td>1</td><td>50.0%</td><td>2</td><td>$0.21</td>"
        in countries
    )
    assert (
        "<td>United States (US)</td><td>1</td><td>1</td><td>100.0%</td><td>1</td><td>$0.01</td>"
        in countries
    )


async def test_senders_show_their_rate_and_pace(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """The sender table shows the sender masked, its delivery rate and the pace it is sent at."""
    await store_message(deps, tenant.id, outcome=Status.DELIVERED)
    page = (await admin.get("/admin/overview")).text
    senders = page[page.index('id="senders"') :]
    assert "+31 6 •••• 4321</td><td>1</td><td>100.0%</td><td>10 seg/s</td>" in senders


async def test_queue_depth_counts_waiting_messages(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """The queue fragment counts the accepted messages no worker has sent yet."""
    await store_message(deps, tenant.id)
    await store_message(deps, tenant.id)
    await store_message(deps, tenant.id, outcome=Status.DELIVERED)
    fragment = (await admin.get("/admin/overview?fragment=1")).text
    assert '<p class="figure" id="queue-depth">2</p>' in fragment
    assert "2 accepted · 0 scheduled" in fragment


async def test_opt_outs_are_listed_with_their_history(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """An address that opted out, back in and out again is listed once, with three changes."""
    for opted_out, at in ((True, 0), (False, 60), (True, 120)):
        await deps.opt_outs.set(
            tenant.id,
            Channel.SMS,
            NL_MOBILE,
            opted_out=opted_out,
            source=OptOutSource.KEYWORD,
            keyword="STOP" if opted_out else "START",
            now=NOW + timedelta(seconds=at),
        )
    page = (await admin.get("/admin/opt-outs")).text
    current = page[page.index('id="opted-out"') : page.index('id="opt-out-history"')]
    history = page[page.index('id="opt-out-history"') :]
    assert current.count("+31 6 •••• 5678") == 1
    assert history.count("+31 6 •••• 5678") == 3
    assert history.count("opted back in") == 1


async def test_endpoints_show_their_recent_deliveries(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """An endpoint lists the deliveries of the events it subscribed to, with their outcome."""
    created = await deps.endpoints.create(tenant.id, "https://app.example/hooks", now=NOW)
    await store_message(deps, tenant.id)
    deliveries = EventDeliveries(deps.engine, SecretBox(deps.settings.secret_key))
    [task] = await deliveries.claim("worker-1", now=NOW, lease_seconds=30, limit=10)
    await deliveries.record_success(task.delivery.id, "worker-1", now=NOW, status_code=204)
    page = (await admin.get("/admin/endpoints")).text
    section = page[page.index(f'data-endpoint="{created.endpoint.id}"') :]
    assert "https://app.example/hooks" in page
    assert "<code>message.status_changed</code>" in section
    assert "204" in section
    assert "status-delivered" in section
