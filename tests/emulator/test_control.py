"""The control API under /_emulator/: health, credentials, reset."""

from __future__ import annotations

from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import call


def test_health(emulator: RunningEmulator) -> None:
    """GET /_emulator/health answers ok without credentials."""
    reply = call("GET", emulator.url("/_emulator/health"), validate=False)
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_accounts_shows_the_credentials(emulator: RunningEmulator) -> None:
    """GET /_emulator/accounts shows the main and test credentials and the base URL."""
    body = call("GET", emulator.url("/_emulator/accounts"), validate=False).json
    config = emulator.config
    assert body["base_url"] == emulator.base_url
    assert [(a["sid"], a["auth_token"]) for a in body["accounts"]] == [
        (config.account_sid, config.auth_token)
    ]
    assert body["test_credentials"]["account_sid"] == config.test_account_sid
    assert body["test_credentials"]["auth_token"] == config.test_auth_token


def test_reset_forgets_subaccounts_and_keys(emulator: RunningEmulator) -> None:
    """POST /_emulator/reset drops everything created and keeps the main credentials."""
    auth = (emulator.config.account_sid, emulator.config.auth_token)
    call("POST", emulator.url("/2010-04-01/Accounts.json"), auth=auth, form={"FriendlyName": "x"})
    keys = f"/2010-04-01/Accounts/{emulator.config.account_sid}/Keys.json"
    call("POST", emulator.url(keys), auth=auth)
    reply = call("POST", emulator.url("/_emulator/reset"), validate=False)
    assert reply.status == 200
    assert len(emulator.state.accounts) == 1
    assert len(emulator.state.keys) == 0
    assert call("GET", emulator.url(keys), auth=auth).json["keys"] == []


def test_unknown_control_path_is_404(emulator: RunningEmulator) -> None:
    """An unknown control path answers Twilio's 404 body like every other path."""
    reply = call("GET", emulator.url("/_emulator/nothing"))
    assert (reply.status, reply.json["code"]) == (404, 20404)
