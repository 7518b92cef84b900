"""Wire conventions of Twilio's newer products (messaging v1, content v1, verify v2).

They differ from 2010-04-01 (TWILIO-API.md §3): paths start with `/v1` (or `/v2`) and have no
`.json` suffix, no account SID in the path (the credentials name the account), dates are ISO
8601, resources carry an absolute `url` and `links`, and lists come in a `meta` envelope whose
page links are **absolute** URLs that twilio-python follows verbatim. So every URL here is built
on the host the client actually called (the emulator), not on `messaging.twilio.com`.

The Content API alone takes a JSON request body (`read_json`).

One emulator port serves every product: the official client's `messaging`, `content` and
`verify` domains are each pointed at it, and their paths do not clash (`/v1/Services` is
messaging, `/v1/Content` content, `/v2/Services` verify).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.auth import Access, authenticate, authorize
from herald.emulator.routing import SID_IN_PATH, Handler, RequestContext, emulator_of
from herald.emulator.wire import Params, paginate

T = TypeVar("T")


def product_route(
    method: str, path: str, handler: Handler, *, access: Access | None = None
) -> Route:
    """A route of a v1/v2 product: `path` is absolute (`/v1/Services/{sid}`), without `.json`.

    As for 2010-04-01 routes, SID-shaped path parameters (names ending in `sid`) must look like
    SIDs (else 404/20404) and the caller is authenticated; the account acted on is the caller's
    own (the path names none), and test credentials are refused with 403/20008.
    """
    if path.endswith(".json"):
        raise ValueError(f"v1/v2 paths have no .json suffix, got {path!r}.")
    rules = access or Access()

    async def endpoint(request: Request) -> Response:
        for name, value in request.path_params.items():
            if name.endswith("sid") and not SID_IN_PATH.match(str(value)):
                raise errors.not_found(request.url.path)
        emulator = emulator_of(request)
        principal = authenticate(request.headers.get("authorization"), emulator.state)
        account = authorize(principal, emulator.state, None, rules)
        context = RequestContext(
            request=request,
            emulator=emulator,
            principal=principal,
            account=account,
            account_sid=account.sid,
        )
        return await handler(context)

    return Route(path, endpoint, methods=[method], name=f"{method} {path}")


def base_url(request: Request) -> str:
    """`scheme://host[:port]` as the client addressed this server."""
    return str(request.base_url).rstrip("/")


def absolute_url(request: Request, path: str) -> str:
    """The absolute URL of `path` on the host the client called."""
    return base_url(request) + path


def paginate_meta(
    items: Sequence[T],
    *,
    request: Request,
    params: Params,
    path: str,
    key: str,
    render: Callable[[T], Mapping[str, Any]],
    sid_of: Callable[[T], str],
) -> dict[str, Any]:
    """One page of `items` in the v1/v2 envelope: `{"meta": {...}, key: [...]}`.

    Paging (PageSize 1 to 1000, Page, PageToken) behaves exactly as for 2010-04-01 lists; only the
    envelope differs, so the page is cut by `wire.paginate` and re-dressed here.
    """
    flat = paginate(items, params=params, path=path, key=key, render=render, sid_of=sid_of)
    base = base_url(request)

    def absolute(link: str | None) -> str | None:
        return None if link is None else base + link

    return {
        key: flat[key],
        "meta": {
            "page": flat["page"],
            "page_size": flat["page_size"],
            "first_page_url": absolute(flat["first_page_uri"]),
            "previous_page_url": absolute(flat["previous_page_uri"]),
            "url": absolute(flat["uri"]),
            "next_page_url": absolute(flat["next_page_uri"]),
            "key": key,
        },
    }


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object body of a request (the Content API's create and update).

    Anything else is a 400/20001 naming the problem, as Twilio refuses malformed bodies.
    """
    body = await request.body()
    if not body:
        raise errors.invalid_parameter("The request body must be a JSON object.")
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise errors.invalid_parameter("The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise errors.invalid_parameter("The request body must be a JSON object.")
    return parsed
