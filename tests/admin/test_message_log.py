"""The message log and a message's page: filters, paging, masking, history, errors explained."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from herald.api import ApiDeps
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import NewMessage, Purpose, Tenant
from tests.admin.admin_helpers import NL_MOBILE, NOW, US_MOBILE, store_message


async def test_numbers_are_masked_by_default(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """The log shows a number as `+31 6 •••• 5678`, never in full."""
    await store_message(deps, tenant.id)
    page = (await admin.get("/admin/messages")).text
    assert "+31 6 •••• 5678" in page
    assert "12345678" not in page


async def test_reveal_shows_numbers_and_logs_without_them(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """`?reveal=1` shows full numbers and logs the reveal at INFO without any number."""
    await store_message(deps, tenant.id)
    with caplog.at_level(logging.INFO, logger="herald.admin"):
        page = (await admin.get("/admin/messages?reveal=1")).text
    assert "+31 6 12345678" in page
    reveals = [r.getMessage() for r in caplog.records if "revealed" in r.getMessage()]
    assert reveals == ["Admin revealed phone numbers on /admin/messages"]


async def test_filter_by_status(admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant) -> None:
    """Filtering by status lists only the messages in it."""
    failed = await store_message(deps, tenant.id, outcome=Status.UNDELIVERED, error_code=30003)
    delivered = await store_message(deps, tenant.id, outcome=Status.DELIVERED)
    page = (await admin.get("/admin/messages?status=undelivered")).text
    assert failed.id in page
    assert delivered.id not in page


async def test_filter_by_number_matches_either_party(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """Filtering by a number, typed with spaces, lists the messages to it only."""
    dutch = await store_message(deps, tenant.id, to=NL_MOBILE)
    american = await store_message(deps, tenant.id, to=US_MOBILE)
    page = (await admin.get("/admin/messages", params={"number": "+1 415 555 0123"})).text
    assert american.id in page
    assert dutch.id not in page


async def test_filter_by_tenant_channel_and_day(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """Tenant, channel and a one-day range combine."""
    other = await deps.tenants.create("globex", now=NOW)
    wanted = await store_message(
        deps, tenant.id, channel=Channel.WHATSAPP, to="whatsapp:" + NL_MOBILE
    )
    sms = await store_message(deps, tenant.id)
    elsewhere = await store_message(
        deps, other.id, channel=Channel.WHATSAPP, to="whatsapp:" + NL_MOBILE
    )
    earlier = await store_message(
        deps,
        tenant.id,
        channel=Channel.WHATSAPP,
        to="whatsapp:" + NL_MOBILE,
        at=NOW - timedelta(days=2),
    )
    day = NOW.date().isoformat()
    page = (
        await admin.get(
            "/admin/messages",
            params={"tenant": tenant.id, "channel": "whatsapp", "from": day, "to": day},
        )
    ).text
    assert wanted.id in page
    assert all(record.id not in page for record in (sms, elsewhere, earlier))


async def test_filters_it_cannot_read_are_named(admin: httpx.AsyncClient) -> None:
    """An unknown status or a malformed date is named on the page, which still answers."""
    response = await admin.get("/admin/messages?status=lost&from=yesterday")
    assert response.status_code == 200
    assert "&#39;lost&#39; is not a status" in response.text
    assert "from &#39;yesterday&#39; is not a date" in response.text


async def test_paging_continues_where_the_page_ended(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """The `Older messages` link of a full page shows the next, older messages."""
    stored = [
        await store_message(deps, tenant.id, at=NOW + timedelta(seconds=i)) for i in range(55)
    ]
    first = (await admin.get("/admin/messages")).text
    assert stored[-1].id in first
    assert stored[0].id not in first
    start = first.index('<a class="button" href="') + len('<a class="button" href="')
    url = first[start : first.index('"', start)].replace("&amp;", "&")
    second = (await admin.get(url)).text
    assert all(record.id in second for record in stored[:5])
    assert stored[-1].id not in second


async def test_a_message_page_shows_history_sid_and_the_error_explained(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """A message's page lists each status it went through and explains Twilio's 30003."""
    message = await store_message(deps, tenant.id, outcome=Status.UNDELIVERED, error_code=30003)
    page = (await admin.get(f"/admin/messages/{message.id}")).text
    history = page[page.index("<h2>History</h2>") :]
    positions = [history.index(f"status-{s}") for s in ("accepted", "sent", "undelivered")]
    assert positions == sorted(positions)
    assert "Twilio error" in page
    assert "The handset was unreachable" in page


async def test_a_one_time_code_is_not_shown(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """A verification message's page hides its body, which carries the code."""
    accepted = await deps.messages.accept(
        tenant.id,
        NewMessage(
            channel=Channel.SMS,
            to=NL_MOBILE,
            from_="+14155550100",
            body="Your code is 482913",
            encoding="GSM-7",
            segments=1,
            purpose=Purpose.VERIFICATION,
        ),
        now=NOW,
    )
    page = (await admin.get(f"/admin/messages/{accepted.message.id}")).text
    assert "482913" not in page
    assert "Hidden: it carries a one-time code." in page


async def test_an_unknown_message_is_a_404_page(admin: httpx.AsyncClient) -> None:
    """A message id Herald does not have answers 404 with a way back."""
    response = await admin.get("/admin/messages/msg_unknown")
    assert response.status_code == 404
    assert "There is no message msg_unknown" in response.text


async def test_the_live_fragment_is_the_rows_only(
    admin: httpx.AsyncClient, deps: ApiDeps, tenant: Tenant
) -> None:
    """`?fragment=1` answers the log's table without the page around it."""
    message = await store_message(deps, tenant.id)
    fragment = (await admin.get("/admin/messages?fragment=1")).text
    assert message.id in fragment
    assert "<html" not in fragment
