"""API keys: `/2010-04-01/Accounts/{AccountSid}/Keys.json` and `/Keys/{Sid}.json` (§10).

Create answers the NewKey schema, the only place the `secret` ever appears; list, fetch and
update answer the Key schema, which has no `secret` at all. A deleted key stops authenticating at
once. Keys are managed with the account's own credentials (or its parent's), not with a key.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.auth import Access
from herald.emulator.routing import RequestContext, api_route
from herald.emulator.state import ApiKey
from herald.emulator.wire import json_response, paginate, resource_uri, rfc2822

MAX_FRIENDLY_NAME = 64
SECRET_LENGTH = 32

_KEY_ACCESS = Access(api_keys=False)


def render_key(key: ApiKey) -> dict[str, Any]:
    """A Key as list, fetch and update render it (no secret)."""
    return {
        "sid": key.sid,
        "friendly_name": key.friendly_name,
        "date_created": rfc2822(key.date_created),
        "date_updated": rfc2822(key.date_updated),
    }


def render_new_key(key: ApiKey) -> dict[str, Any]:
    """A NewKey: the create response, the one time the secret is shown."""
    return {**render_key(key), "secret": key.secret}


def _friendly_name(value: str | None) -> str:
    name = value or ""
    if len(name) > MAX_FRIENDLY_NAME:
        raise errors.invalid_parameter(
            f"Invalid FriendlyName: at most {MAX_FRIENDLY_NAME} characters are allowed."
        )
    return name


def _key_of(ctx: RequestContext) -> ApiKey:
    key = ctx.state.keys.get(ctx.path("sid"))
    if key is None or key.account_sid != ctx.account.sid:
        raise ctx.not_found()
    return key


async def create_key(ctx: RequestContext) -> Response:
    """POST /Keys.json: a new standard key (201, with its secret)."""
    form = await ctx.form()
    now = ctx.now()
    key = ctx.state.keys.add(
        ApiKey(
            sid=ctx.state.sids.sid("SK"),
            account_sid=ctx.account.sid,
            friendly_name=_friendly_name(form.get("FriendlyName")),
            secret=ctx.state.sids.secret(SECRET_LENGTH),
            date_created=now,
            date_updated=now,
        )
    )
    return json_response(render_new_key(key), status=201)


async def list_keys(ctx: RequestContext) -> Response:
    """GET /Keys.json: the account's keys, oldest first."""
    query = ctx.query()
    owned = [key for key in ctx.state.keys if key.account_sid == ctx.account.sid]
    return json_response(
        paginate(
            owned,
            params=query,
            path=resource_uri("Accounts", ctx.account.sid, "Keys"),
            key="keys",
            render=render_key,
            sid_of=lambda key: key.sid,
        )
    )


async def fetch_key(ctx: RequestContext) -> Response:
    """GET /Keys/{Sid}.json."""
    return json_response(render_key(_key_of(ctx)))


async def update_key(ctx: RequestContext) -> Response:
    """POST /Keys/{Sid}.json: `FriendlyName`."""
    key = _key_of(ctx)
    form = await ctx.form()
    if "FriendlyName" in form:
        key.friendly_name = _friendly_name(form.get("FriendlyName"))
        key.date_updated = ctx.now()
    return json_response(render_key(key))


async def delete_key(ctx: RequestContext) -> Response:
    """DELETE /Keys/{Sid}.json: 204; the secret stops working at once."""
    key = _key_of(ctx)
    ctx.state.keys.remove(key.sid)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The Key resource's routes."""
    keys = "/Accounts/{account_sid}/Keys.json"
    key = "/Accounts/{account_sid}/Keys/{sid}.json"
    return [
        api_route("POST", keys, create_key, access=_KEY_ACCESS),
        api_route("GET", keys, list_keys, access=_KEY_ACCESS),
        api_route("GET", key, fetch_key, access=_KEY_ACCESS),
        api_route("POST", key, update_key, access=_KEY_ACCESS),
        api_route("DELETE", key, delete_key, access=_KEY_ACCESS),
    ]
