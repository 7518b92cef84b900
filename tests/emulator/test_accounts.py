"""Accounts and subaccounts, driven through the official twilio client."""

from __future__ import annotations

import re

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.emulator.conftest import ClientFactory, RunningEmulator

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_fetch_main_account_renders_every_field(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """Fetching the main account returns its SID, token, status and relative URIs."""
    sid = emulator.config.account_sid
    account = twilio_client.api.v2010.accounts(sid).fetch()
    assert account.sid == sid
    assert account.auth_token == emulator.config.auth_token
    assert account.owner_account_sid == sid
    assert account.status == "active"
    assert account.type == "Full"
    assert account.uri == f"/2010-04-01/Accounts/{sid}.json"
    assert account.subresource_uris["messages"] == f"/2010-04-01/Accounts/{sid}/Messages.json"
    assert account.subresource_uris["short_codes"] == (
        f"/2010-04-01/Accounts/{sid}/SMS/ShortCodes.json"
    )
    assert len(account.subresource_uris) == 20


def test_dates_are_rfc2822_from_the_emulator_clock(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """date_created comes from the emulator clock and parses back to the same instant."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid).fetch()
    assert account.date_created == emulator.clock.now()


def test_create_subaccount_returns_201_with_its_own_token(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """A new subaccount is owned by the main account and carries a fresh auth token in clear."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Shop EU")
    assert sub.friendly_name == "Shop EU"
    assert sub.owner_account_sid == emulator.config.account_sid
    assert sub.sid != emulator.config.account_sid
    assert HEX32.match(sub.auth_token)
    assert sub.status == "active"
    assert emulator.state.accounts.get(sub.sid) is not None


def test_create_subaccount_without_name_gets_twilio_default(twilio_client: Client) -> None:
    """Without FriendlyName the name is `SubAccount Created at <date> <time> <am|pm>`."""
    sub = twilio_client.api.v2010.accounts.create()
    assert sub.friendly_name == "SubAccount Created at 2025-01-01 12:00 pm"


def test_list_shows_main_account_and_its_subaccounts(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """The main account's list holds itself and every subaccount."""
    first = twilio_client.api.v2010.accounts.create(friendly_name="A")
    second = twilio_client.api.v2010.accounts.create(friendly_name="B")
    sids = [account.sid for account in twilio_client.api.v2010.accounts.list()]
    assert sids == [emulator.config.account_sid, first.sid, second.sid]


def test_list_filters_by_exact_friendly_name(twilio_client: Client) -> None:
    """FriendlyName filters by exact match."""
    wanted = twilio_client.api.v2010.accounts.create(friendly_name="Shop")
    twilio_client.api.v2010.accounts.create(friendly_name="Shop 2")
    found = twilio_client.api.v2010.accounts.list(friendly_name="Shop")
    assert [account.sid for account in found] == [wanted.sid]


def test_list_filters_by_status(twilio_client: Client) -> None:
    """Status filters the list."""
    suspended = twilio_client.api.v2010.accounts.create(friendly_name="Late payer")
    twilio_client.api.v2010.accounts(suspended.sid).update(status="suspended")
    found = twilio_client.api.v2010.accounts.list(status="suspended")
    assert [account.sid for account in found] == [suspended.sid]


def test_subaccount_lists_only_itself(twilio_client: Client, make_client: ClientFactory) -> None:
    """A subaccount's credentials see the subaccount alone, not the parent nor siblings."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="A")
    twilio_client.api.v2010.accounts.create(friendly_name="B")
    sub_client = make_client(sub.sid, sub.auth_token)
    assert [account.sid for account in sub_client.api.v2010.accounts.list()] == [sub.sid]


def test_update_friendly_name(emulator: RunningEmulator, twilio_client: Client) -> None:
    """POST FriendlyName renames the account and moves date_updated."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Old")
    emulator.clock.advance(60)
    renamed = twilio_client.api.v2010.accounts(sub.sid).update(friendly_name="New")
    assert renamed.friendly_name == "New"
    assert renamed.date_updated == emulator.clock.now()
    assert renamed.date_created == sub.date_created


def test_suspended_subaccount_can_be_reactivated(twilio_client: Client) -> None:
    """The parent suspends a subaccount and makes it active again."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Late payer")
    accounts = twilio_client.api.v2010.accounts
    assert accounts(sub.sid).update(status="suspended").status == "suspended"
    assert accounts(sub.sid).fetch().status == "suspended"
    assert accounts(sub.sid).update(status="active").status == "active"


def test_closed_subaccount_cannot_be_reopened(twilio_client: Client) -> None:
    """Closing is final: a later update is refused with a 400."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Gone")
    twilio_client.api.v2010.accounts(sub.sid).update(status="closed")
    with pytest.raises(TwilioRestException) as raised:
        twilio_client.api.v2010.accounts(sub.sid).update(status="active")
    assert (raised.value.status, raised.value.code) == (400, 20001)
    assert twilio_client.api.v2010.accounts(sub.sid).fetch().status == "closed"


def test_closing_runs_the_account_closed_hooks(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """Closing an account tells the registered hooks (e.g. to release its numbers)."""
    closed: list[str] = []
    emulator.state.account_closed_hooks.append(lambda _state, account: closed.append(account.sid))
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Gone")
    twilio_client.api.v2010.accounts(sub.sid).update(status="closed")
    assert closed == [sub.sid]


def test_invalid_status_value_is_a_400(twilio_client: Client) -> None:
    """A Status outside active|suspended|closed is refused with 400/20001."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="X")
    with pytest.raises(TwilioRestException) as raised:
        twilio_client.api.v2010.accounts(sub.sid).update(status="paused")
    assert (raised.value.status, raised.value.code) == (400, 20001)


def test_main_account_status_cannot_change(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """The main account cannot suspend or close itself through the API."""
    with pytest.raises(TwilioRestException) as raised:
        twilio_client.api.v2010.accounts(emulator.config.account_sid).update(status="suspended")
    assert (raised.value.status, raised.value.code) == (400, 20001)
    assert emulator.state.main_account.status == "active"


def test_friendly_name_longer_than_64_is_refused(twilio_client: Client) -> None:
    """FriendlyName is limited to 64 characters."""
    with pytest.raises(TwilioRestException) as raised:
        twilio_client.api.v2010.accounts.create(friendly_name="x" * 65)
    assert (raised.value.status, raised.value.code) == (400, 20001)
