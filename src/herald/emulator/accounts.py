"""Accounts and subaccounts: `/2010-04-01/Accounts.json` and `/Accounts/{Sid}.json`.

Faithful to the spec schema `api.v2010.account` and Twilio's subaccount rules:
- only a main account's own credentials create subaccounts (201, `auth_token` in clear);
  subaccounts cannot have subaccounts;
- the list shows the caller and its subaccounts, filtered by exact `FriendlyName` and `Status`;
- only the main account's credentials change a subaccount's `Status`; the main account's own
  status cannot be changed; `closed` is final ("you cannot reopen a closed account").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.auth import Access
from herald.emulator.routing import RequestContext, api_route
from herald.emulator.state import ACCOUNT_STATUSES, Account
from herald.emulator.wire import json_response, paginate, resource_uri, rfc2822

MAX_FRIENDLY_NAME = 64

# Order and paths as in the spec's Account example.
SUBRESOURCES = (
    ("available_phone_numbers", "AvailablePhoneNumbers"),
    ("calls", "Calls"),
    ("conferences", "Conferences"),
    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
    ("notifications", "Notifications"),
    ("outgoing_caller_ids", "OutgoingCallerIds"),
    ("recordings", "Recordings"),
    ("transcriptions", "Transcriptions"),
    ("addresses", "Addresses"),
    ("signing_keys", "SigningKeys"),
    ("connect_apps", "ConnectApps"),
    ("sip", "SIP"),
    ("authorized_connect_apps", "AuthorizedConnectApps"),
    ("usage", "Usage"),
    ("keys", "Keys"),
    ("applications", "Applications"),
    ("short_codes", "SMS/ShortCodes"),
    ("queues", "Queues"),
    ("messages", "Messages"),
    ("balance", "Balance"),
)

# Accounts and their keys are managed with the account's own credentials, never an API key; a
# parent must still reach a suspended or closed subaccount to read or reactivate it.
_ACCOUNT_ACCESS = Access(api_keys=False, inactive_account=True)


def render_account(account: Account) -> dict[str, Any]:
    """An Account as Twilio renders it."""
    return {
        "auth_token": account.auth_token,
        "date_created": rfc2822(account.date_created),
        "date_updated": rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.owner_account_sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": {
            name: resource_uri("Accounts", account.sid, path) for name, path in SUBRESOURCES
        },
        "type": account.type,
        "uri": resource_uri("Accounts", account.sid),
    }


def default_friendly_name(now: datetime) -> str:
    """Twilio's default: `SubAccount Created at {YYYY-MM-DD HH:MM meridian}`."""
    meridian = "am" if now.hour < 12 else "pm"  # noqa: PLR2004 - noon
    return f"SubAccount Created at {now:%Y-%m-%d %I:%M} {meridian}"


def _friendly_name(value: str) -> str:
    if len(value) > MAX_FRIENDLY_NAME:
        raise errors.invalid_parameter(
            f"Invalid FriendlyName: at most {MAX_FRIENDLY_NAME} characters are allowed."
        )
    return value


async def create_account(ctx: RequestContext) -> Response:
    """POST /Accounts.json: a new subaccount of the caller's main account."""
    if not ctx.account.is_main:
        # Subaccounts cannot own subaccounts; Twilio answers with its permission error.
        raise errors.authenticate()
    form = await ctx.form()
    now = ctx.now()
    name = form.get("FriendlyName")
    account = ctx.state.accounts.add(
        Account(
            sid=ctx.state.sids.sid("AC"),
            auth_token=ctx.state.sids.hex(32),
            friendly_name=_friendly_name(name) if name else default_friendly_name(now),
            owner_account_sid=ctx.account.sid,
            date_created=now,
            date_updated=now,
        )
    )
    return json_response(render_account(account), status=201)


async def list_accounts(ctx: RequestContext) -> Response:
    """GET /Accounts.json: the caller and its subaccounts."""
    query = ctx.query()
    name = query.get("FriendlyName")
    status = query.choice("Status", ACCOUNT_STATUSES)
    visible = [ctx.account, *ctx.state.subaccounts_of(ctx.account.sid)]
    matching = [
        account
        for account in visible
        if (name is None or account.friendly_name == name)
        and (status is None or account.status == status)
    ]
    filters = [(key, value) for key, value in (("FriendlyName", name), ("Status", status)) if value]
    return json_response(
        paginate(
            matching,
            params=query,
            path=resource_uri("Accounts"),
            key="accounts",
            render=render_account,
            sid_of=lambda account: account.sid,
            filters=filters,
        )
    )


async def fetch_account(ctx: RequestContext) -> Response:
    """GET /Accounts/{Sid}.json."""
    return json_response(render_account(ctx.account))


async def update_account(ctx: RequestContext) -> Response:
    """POST /Accounts/{Sid}.json: `FriendlyName` and `Status`."""
    form = await ctx.form()
    account = ctx.account
    name = form.get("FriendlyName")
    status = form.choice("Status", ACCOUNT_STATUSES)
    if account.status == "closed":
        raise errors.invalid_parameter(
            f"Account {account.sid} is closed; a closed account cannot be changed or reopened."
        )
    if status is not None and status != account.status:
        _check_status_change(ctx, account)
    if name is not None:
        account.friendly_name = _friendly_name(name)
        account.date_updated = ctx.now()
    if status is not None:
        ctx.state.set_account_status(account, status)
    return json_response(render_account(account))


def _check_status_change(ctx: RequestContext, account: Account) -> None:
    if account.is_main:
        raise errors.invalid_parameter(
            "Invalid Status: the main account cannot be suspended or closed through the API."
        )
    if ctx.principal.account_sid != account.owner_account_sid:
        # "You must use your main account's authentication credentials" to change a status.
        raise errors.authenticate()


def routes() -> list[Route]:
    """The Account resource's routes."""
    own_only = Access(api_keys=False)
    return [
        api_route("POST", "/Accounts.json", create_account, access=own_only),
        api_route("GET", "/Accounts.json", list_accounts, access=own_only),
        api_route("GET", "/Accounts/{account_sid}.json", fetch_account, access=_ACCOUNT_ACCESS),
        api_route("POST", "/Accounts/{account_sid}.json", update_account, access=_ACCOUNT_ACCESS),
    ]
