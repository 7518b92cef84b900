"""How a resource module declares its routes: `api_route(...)` and the `RequestContext`.

A handler is `async def handler(ctx: RequestContext) -> Response`. `api_route` wraps it so that,
before it runs, the account SID in the URL has Twilio's shape (else 404/20404), the caller is
authenticated and authorized for that account under the route's `Access` flags, and afterwards
any `TwilioError` is rendered by the app's one handler. The handler then only parses
(`await ctx.form()`, `ctx.query()`), acts on `ctx.state`, and renders.

Path templates are written after `/2010-04-01` and name the account parameter `account_sid`:
`api_route("POST", "/Accounts/{account_sid}/Keys.json", create_key)`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.auth import Access, Principal, authenticate, authorize
from herald.emulator.clock import Clock
from herald.emulator.config import EmulatorConfig
from herald.emulator.state import Account, EmulatorState
from herald.emulator.wire import API_PREFIX, Params, read_form, read_query

SID_IN_PATH = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Emulator:
    """One running emulator: its configuration, its state and its clock."""

    config: EmulatorConfig
    state: EmulatorState
    clock: Clock


def emulator_of(request: Request) -> Emulator:
    """The emulator serving this request (set by `create_app`)."""
    emulator = request.app.state.emulator
    assert isinstance(emulator, Emulator)
    return emulator


@dataclasses.dataclass(slots=True)
class RequestContext:
    """What a handler needs about one authorized request."""

    request: Request
    emulator: Emulator
    principal: Principal
    account: Account
    """The live account acted on (for test credentials: the account owning them)."""
    account_sid: str
    """The account SID as the URL names it (the test SID under test credentials)."""
    _form: Params | None = None

    @property
    def state(self) -> EmulatorState:
        """The emulator's state."""
        return self.emulator.state

    @property
    def is_test(self) -> bool:
        """True under test credentials: validate as usual, then store and deliver nothing."""
        return self.principal.is_test

    def now(self) -> datetime:
        """The emulator clock's current time."""
        return self.emulator.clock.now()

    def path(self, name: str) -> str:
        """A path parameter of the route."""
        value = self.request.path_params[name]
        assert isinstance(value, str)
        return value

    async def form(self) -> Params:
        """The form-encoded body (read once)."""
        if self._form is None:
            self._form = await read_form(self.request)
        return self._form

    def query(self) -> Params:
        """The query-string parameters."""
        return read_query(self.request)

    def not_found(self) -> errors.TwilioError:
        """Twilio's 404 for the requested path."""
        return errors.not_found(self.request.url.path)


Handler = Callable[[RequestContext], Awaitable[Response]]


def api_route(
    method: str,
    path: str,
    handler: Handler,
    *,
    access: Access | None = None,
) -> Route:
    """A 2010-04-01 route: `path` is relative to `/2010-04-01` and ends in `.json`."""
    if not path.endswith(".json"):
        raise ValueError(f"2010-04-01 paths end in .json, got {path!r}.")
    rules = access or Access()

    async def endpoint(request: Request) -> Response:
        for name, value in request.path_params.items():
            if name.endswith("sid") and not SID_IN_PATH.match(str(value)):
                raise errors.not_found(request.url.path)
        emulator = emulator_of(request)
        principal = authenticate(request.headers.get("authorization"), emulator.state)
        url_account = request.path_params.get("account_sid")
        account = authorize(principal, emulator.state, url_account, rules)
        context = RequestContext(
            request=request,
            emulator=emulator,
            principal=principal,
            account=account,
            account_sid=url_account or principal.account_sid,
        )
        return await handler(context)

    return Route(API_PREFIX + path, endpoint, methods=[method], name=f"{method} {path}")
