"""API keys through the official twilio client: the secret once, then never again."""

from __future__ import annotations

import re

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.auth import authenticate
from herald.emulator.errors import TwilioError
from tests.emulator.conftest import ClientFactory, RunningEmulator
from tests.emulator.rawhttp import basic

SECRET = re.compile(r"^[A-Za-z0-9]{32}$")


def test_create_returns_the_secret(emulator: RunningEmulator, twilio_client: Client) -> None:
    """Creating a key answers its SK SID and a 32-character secret."""
    key = twilio_client.api.v2010.accounts(emulator.config.account_sid).new_keys.create(
        friendly_name="CI"
    )
    assert key.sid.startswith("SK")
    assert len(key.sid) == 34
    assert key.friendly_name == "CI"
    assert SECRET.match(key.secret)


def test_fetch_and_list_never_show_the_secret(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """Fetch and list render the Key schema, which has no secret field at all."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid)
    created = account.new_keys.create(friendly_name="CI")
    fetched = account.keys(created.sid).fetch()
    listed = account.keys.list()
    assert fetched.sid == created.sid
    assert [key.sid for key in listed] == [created.sid]
    assert not hasattr(fetched, "secret")


def test_update_renames_the_key(emulator: RunningEmulator, twilio_client: Client) -> None:
    """POST FriendlyName renames a key."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid)
    created = account.new_keys.create(friendly_name="old")
    assert account.keys(created.sid).update(friendly_name="new").friendly_name == "new"


def test_delete_removes_the_key(emulator: RunningEmulator, twilio_client: Client) -> None:
    """A deleted key is gone: fetching it is a 404."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid)
    created = account.new_keys.create(friendly_name="temp")
    assert account.keys(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as raised:
        account.keys(created.sid).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_deleted_key_stops_authenticating(emulator: RunningEmulator, twilio_client: Client) -> None:
    """A key's secret authenticates until the key is deleted, then is refused."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid)
    created = account.new_keys.create(friendly_name="temp")
    header = basic(created.sid, created.secret)
    assert authenticate(header, emulator.state).key_sid == created.sid
    account.keys(created.sid).delete()
    with pytest.raises(TwilioError) as raised:
        authenticate(header, emulator.state)
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_key_of_another_account_is_not_found(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """A key is reachable only under the account that owns it."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Shop")
    key = twilio_client.api.v2010.accounts(sub.sid).new_keys.create(friendly_name="sub key")
    with pytest.raises(TwilioRestException) as raised:
        twilio_client.api.v2010.accounts(emulator.config.account_sid).keys(key.sid).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_api_key_cannot_manage_keys(emulator: RunningEmulator, make_client: ClientFactory) -> None:
    """A standard key cannot manage keys or accounts: 401/20003."""
    main = make_client(emulator.config.account_sid, emulator.config.auth_token)
    key = main.api.v2010.accounts(emulator.config.account_sid).new_keys.create()
    as_key = make_client(key.sid, key.secret, account_sid=emulator.config.account_sid)
    with pytest.raises(TwilioRestException) as raised:
        as_key.api.v2010.accounts(emulator.config.account_sid).keys(key.sid).fetch()
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_keys_list_pages_through_every_key(
    emulator: RunningEmulator, twilio_client: Client
) -> None:
    """The client follows next_page_uri until every key has been read once."""
    account = twilio_client.api.v2010.accounts(emulator.config.account_sid)
    created = [account.new_keys.create(friendly_name=f"k{n}").sid for n in range(7)]
    listed = [key.sid for key in account.keys.stream(page_size=3)]
    assert listed == created
