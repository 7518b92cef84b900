"""Who may act on which account: credentials, subaccounts, API keys and test credentials.

Besides the real Account routes, these tests add two probe routes to the app, the way a resource
module declares its own: one that accepts API keys (as most resources do) and one flagged for test
credentials (as Messages create will be). Their 200 answers are the test's own JSON; their errors
are validated as Twilio's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.responses import Response
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.auth import Access
from herald.emulator.routing import RequestContext, api_route
from herald.emulator.wire import json_response
from tests.emulator.conftest import (
    ClientFactory,
    RunningEmulator,
    build_app,
    loopback_socket,
    serve,
)
from tests.emulator.openapi import assert_twilio_error
from tests.emulator.rawhttp import call

PROBE = "/2010-04-01/Accounts/{sid}/Probe.json"
TEST_PROBE = "/2010-04-01/Accounts/{sid}/TestProbe.json"


async def probe(ctx: RequestContext) -> Response:
    """Say who was let in, on which account."""
    return json_response(
        {"account": ctx.account.sid, "url_account": ctx.account_sid, "test": ctx.is_test}
    )


@pytest.fixture
def probed() -> Iterator[RunningEmulator]:
    """An emulator with the two probe routes added."""
    sock = loopback_socket()
    app = build_app(sock)
    app.router.routes.extend(
        [
            api_route("GET", "/Accounts/{account_sid}/Probe.json", probe),
            api_route(
                "POST",
                "/Accounts/{account_sid}/TestProbe.json",
                probe,
                access=Access(test_credentials=True),
            ),
        ]
    )
    with serve(app, sock) as running:
        yield running


def _probe(
    running: RunningEmulator, account_sid: str, auth: tuple[str, str]
) -> tuple[int, dict[str, Any]]:
    reply = call("GET", running.url(PROBE.format(sid=account_sid)), auth=auth, validate=False)
    if reply.status >= 400:
        assert_twilio_error(reply.status, reply.json)
    return reply.status, reply.json


def _subaccount(running: RunningEmulator, name: str) -> tuple[str, str]:
    config = running.config
    reply = call(
        "POST",
        running.url("/2010-04-01/Accounts.json"),
        auth=(config.account_sid, config.auth_token),
        form={"FriendlyName": name},
    )
    return reply.json["sid"], reply.json["auth_token"]


def _main(running: RunningEmulator) -> tuple[str, str]:
    return running.config.account_sid, running.config.auth_token


def test_wrong_token_raises_20003_in_the_client(
    emulator: RunningEmulator, make_client: ClientFactory
) -> None:
    """A wrong auth token surfaces as TwilioRestException 401/20003."""
    client = make_client(emulator.config.account_sid, "0" * 32)
    with pytest.raises(TwilioRestException) as raised:
        client.api.v2010.accounts(emulator.config.account_sid).fetch()
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_missing_credentials_get_a_basic_challenge(emulator: RunningEmulator) -> None:
    """No Authorization header is a 401 with Twilio's `Basic realm="Twilio API"` challenge."""
    reply = call("GET", emulator.url("/2010-04-01/Accounts.json"))
    assert reply.status == 401
    assert reply.json["code"] == 20003
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


def test_unknown_account_sid_as_username_is_refused(emulator: RunningEmulator) -> None:
    """A well-formed but unknown Account SID does not authenticate."""
    stranger = "AC" + "1" * 32
    reply = call(
        "GET",
        emulator.url("/2010-04-01/Accounts.json"),
        auth=(stranger, emulator.config.auth_token),
    )
    assert (reply.status, reply.json["code"]) == (401, 20003)


def test_parent_acts_on_its_subaccount(probed: RunningEmulator) -> None:
    """The main account's credentials act on a subaccount named in the URL."""
    sub_sid, _ = _subaccount(probed, "Shop")
    status, body = _probe(probed, sub_sid, _main(probed))
    assert status == 200
    assert body["account"] == sub_sid


def test_subaccount_cannot_act_on_its_parent(probed: RunningEmulator) -> None:
    """A subaccount's credentials on the parent's URL are 401/20003."""
    sub = _subaccount(probed, "Shop")
    status, body = _probe(probed, probed.config.account_sid, sub)
    assert (status, body["code"]) == (401, 20003)


def test_subaccount_cannot_act_on_a_sibling(probed: RunningEmulator) -> None:
    """A subaccount's credentials on a sibling's URL are 401/20003."""
    first = _subaccount(probed, "A")
    second_sid, _ = _subaccount(probed, "B")
    status, body = _probe(probed, second_sid, first)
    assert (status, body["code"]) == (401, 20003)


def test_another_account_is_refused(probed: RunningEmulator) -> None:
    """Credentials on an account they have nothing to do with are 401/20003."""
    status, body = _probe(probed, "AC" + "2" * 32, _main(probed))
    assert (status, body["code"]) == (401, 20003)


def test_api_key_acts_on_its_own_account(probed: RunningEmulator) -> None:
    """An API key SID + secret, with the owner's SID in the URL, authenticates."""
    config = probed.config
    key = call(
        "POST",
        probed.url(f"/2010-04-01/Accounts/{config.account_sid}/Keys.json"),
        auth=_main(probed),
        form={"FriendlyName": "app"},
    ).json
    status, body = _probe(probed, config.account_sid, (key["sid"], key["secret"]))
    assert (status, body["account"]) == (200, config.account_sid)


def test_api_key_of_parent_cannot_act_on_subaccount(probed: RunningEmulator) -> None:
    """A standard key acts on its own account only."""
    config = probed.config
    sub_sid, _ = _subaccount(probed, "Shop")
    key = call(
        "POST",
        probed.url(f"/2010-04-01/Accounts/{config.account_sid}/Keys.json"),
        auth=_main(probed),
    ).json
    status, body = _probe(probed, sub_sid, (key["sid"], key["secret"]))
    assert (status, body["code"]) == (401, 20003)


def test_suspended_subaccount_credentials_are_refused(probed: RunningEmulator) -> None:
    """A suspended account's own credentials no longer authenticate."""
    sub_sid, sub_token = _subaccount(probed, "Late payer")
    call(
        "POST",
        probed.url(f"/2010-04-01/Accounts/{sub_sid}.json"),
        auth=_main(probed),
        form={"Status": "suspended"},
    )
    status, body = _probe(probed, sub_sid, (sub_sid, sub_token))
    assert (status, body["code"]) == (401, 20003)


def test_parent_cannot_use_resources_of_a_suspended_subaccount(probed: RunningEmulator) -> None:
    """A suspended subaccount's resources are closed to its parent too (its Account is not)."""
    sub_sid, _ = _subaccount(probed, "Late payer")
    url = probed.url(f"/2010-04-01/Accounts/{sub_sid}.json")
    call("POST", url, auth=_main(probed), form={"Status": "suspended"})
    status, body = _probe(probed, sub_sid, _main(probed))
    assert (status, body["code"]) == (401, 20003)
    assert call("GET", url, auth=_main(probed)).status == 200


def test_closed_subaccount_credentials_are_refused(probed: RunningEmulator) -> None:
    """A closed account's credentials no longer authenticate."""
    sub_sid, sub_token = _subaccount(probed, "Gone")
    call(
        "POST",
        probed.url(f"/2010-04-01/Accounts/{sub_sid}.json"),
        auth=_main(probed),
        form={"Status": "closed"},
    )
    status, body = _probe(probed, sub_sid, (sub_sid, sub_token))
    assert (status, body["code"]) == (401, 20003)


def test_subaccount_cannot_change_its_own_status(
    twilio_client: Client, make_client: ClientFactory
) -> None:
    """Only the main account's credentials suspend or close a subaccount."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Shop")
    own = make_client(sub.sid, sub.auth_token)
    with pytest.raises(TwilioRestException) as raised:
        own.api.v2010.accounts(sub.sid).update(status="suspended")
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_subaccount_may_rename_itself(twilio_client: Client, make_client: ClientFactory) -> None:
    """A subaccount's own credentials may change its FriendlyName."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Shop")
    own = make_client(sub.sid, sub.auth_token)
    assert own.api.v2010.accounts(sub.sid).update(friendly_name="Shop NL").friendly_name == (
        "Shop NL"
    )


def test_subaccount_cannot_create_subaccounts(
    twilio_client: Client, make_client: ClientFactory
) -> None:
    """Subaccounts cannot own subaccounts."""
    sub = twilio_client.api.v2010.accounts.create(friendly_name="Shop")
    own = make_client(sub.sid, sub.auth_token)
    with pytest.raises(TwilioRestException) as raised:
        own.api.v2010.accounts.create(friendly_name="Nested")
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_test_credentials_refused_on_accounts(
    emulator: RunningEmulator, make_client: ClientFactory
) -> None:
    """Test credentials on a resource that does not accept them are 403/20008."""
    config = emulator.config
    client = make_client(config.test_account_sid, config.test_auth_token)
    with pytest.raises(TwilioRestException) as raised:
        client.api.v2010.accounts(config.test_account_sid).fetch()
    assert (raised.value.status, raised.value.code) == (403, 20008)


def test_test_credentials_refused_on_keys(
    emulator: RunningEmulator, make_client: ClientFactory
) -> None:
    """Test credentials cannot create API keys."""
    config = emulator.config
    client = make_client(config.test_account_sid, config.test_auth_token)
    with pytest.raises(TwilioRestException) as raised:
        client.api.v2010.accounts(config.test_account_sid).new_keys.create()
    assert (raised.value.status, raised.value.code) == (403, 20008)


def test_test_credentials_accepted_on_flagged_route(probed: RunningEmulator) -> None:
    """A route flagged for test credentials lets them in, marked as a test request."""
    config = probed.config
    url = probed.url(TEST_PROBE.format(sid=config.test_account_sid))
    reply = call(
        "POST", url, auth=(config.test_account_sid, config.test_auth_token), validate=False
    )
    assert reply.status == 200
    assert reply.json == {
        "account": config.account_sid,
        "url_account": config.test_account_sid,
        "test": True,
    }


def test_test_credentials_cannot_reach_live_account(probed: RunningEmulator) -> None:
    """Test credentials with the live account's SID in the URL are 401/20003."""
    config = probed.config
    url = probed.url(TEST_PROBE.format(sid=config.account_sid))
    reply = call("POST", url, auth=(config.test_account_sid, config.test_auth_token))
    assert (reply.status, reply.json["code"]) == (401, 20003)


def test_wrong_test_token_is_refused(probed: RunningEmulator) -> None:
    """The test SID with a wrong token does not authenticate."""
    config = probed.config
    url = probed.url(TEST_PROBE.format(sid=config.test_account_sid))
    reply = call("POST", url, auth=(config.test_account_sid, config.auth_token))
    assert (reply.status, reply.json["code"]) == (401, 20003)
