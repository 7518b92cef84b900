"""The control API under `/_emulator/`: not Twilio's, the emulator's own handles.

It needs no credentials (the emulator is a local development tool bound to 127.0.0.1 by default)
and answers plain JSON. Here:

- `GET /_emulator/health` — `{"status": "ok"}`;
- `GET /_emulator/accounts` — every account with its auth token, and the test credentials, so a
  developer can find what to give the twilio client;
- `POST /_emulator/reset` — forget everything and seed the main account again.

Other modules add their own handles under the same prefix, each beside what it controls:
`seed` (`/seed`), `inbound` (`/inbound`), `phones` (`/phones`), `optout` (`/opt-outs`),
`activity` (`/webhooks`, `/events`), `chaos` (`/chaos`) and `whatsapp` (`/whatsapp/…`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator.routing import emulator_of
from herald.emulator.state import Account
from herald.emulator.wire import json_response

CONTROL_PREFIX = "/_emulator"


def _account(account: Account) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "auth_token": account.auth_token,
        "friendly_name": account.friendly_name,
        "status": account.status,
        "owner_account_sid": account.owner_account_sid,
    }


def describe_accounts(request: Request) -> dict[str, Any]:
    """The credentials a developer needs, as the accounts endpoint shows them."""
    emulator = emulator_of(request)
    test = emulator.state.test_credentials
    return {
        "base_url": emulator.config.base_url,
        "accounts": [_account(account) for account in emulator.state.accounts],
        "test_credentials": {
            "account_sid": test.account_sid,
            "auth_token": test.auth_token,
            "owner_account_sid": test.owner_account_sid,
        },
    }


async def health(_request: Request) -> Response:
    """GET /_emulator/health."""
    return json_response({"status": "ok"})


async def accounts(request: Request) -> Response:
    """GET /_emulator/accounts."""
    return json_response(describe_accounts(request))


async def reset(request: Request) -> Response:
    """POST /_emulator/reset: the state as on start-up; the answer is the fresh credentials."""
    emulator_of(request).state.reset()
    return json_response(describe_accounts(request))


def routes() -> list[Route]:
    """The control API's routes."""
    return [
        Route(f"{CONTROL_PREFIX}/health", health, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/accounts", accounts, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/reset", reset, methods=["POST"]),
    ]
