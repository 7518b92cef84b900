"""Values and helpers shared by the admin page tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from herald.api import ApiDeps
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import HistorySource, MessageRecord, NewMessage
from herald.storage.reports import StatusReports

ADMIN_KEY = "test-admin-key-0123456789"
NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
NL_MOBILE = "+31612345678"
US_MOBILE = "+14155550123"
NL_SENDER = "+31687654321"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in `html`."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    """Fetch the sign-in form and post `key` with its token; the answer (not followed)."""
    form = await http.get("/admin/login")
    return await http.post(
        "/admin/login",
        data={"csrf": csrf_of(form.text), "key": key, "next": "/admin/messages"},
    )


async def store_message(
    deps: ApiDeps,
    tenant_id: str,
    *,
    to: str = NL_MOBILE,
    channel: Channel = Channel.SMS,
    at: datetime = NOW,
    body: str = "Your parcel arrives today.",
    outcome: Status | None = None,
    error_code: int | None = None,
) -> MessageRecord:
    """Accept a message at `at` and, with `outcome`, report it sent and then `outcome`."""
    accepted = await deps.messages.accept(
        tenant_id,
        NewMessage(
            channel=channel, to=to, from_=NL_SENDER, body=body, encoding="GSM-7", segments=1
        ),
        now=at,
    )
    message = accepted.message
    reports = StatusReports(deps.engine)
    for status in () if outcome is None else (Status.SENT, outcome):
        at += timedelta(seconds=5)
        outcome_report = await reports.apply_report(
            reported=status,
            occurred_at=at,
            now=at,
            source=HistorySource.CALLBACK,
            message_id=message.id,
            provider_status=status.value,
            error_code=error_code if status is outcome else None,
            error_message=None,
        )
        assert outcome_report is not None
        message = outcome_report.message
    return message
