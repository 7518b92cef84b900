"""The create, list, fetch, update and delete routes a product's Services share.

Messaging Services (`/v1/Services`, `MG…`) and Verify Services (`/v2/Services`, `VA…`) are
managed alike: created from a form that needs `FriendlyName` (201), listed oldest first in the
v1/v2 `meta` envelope, fetched and updated by SID (only the parameters given change), deleted
with 204. A Service of another account is Twilio's 404/20404. What differs is described by a
`ServiceResource`: how a new one is made and configured, how it renders, and what goes with it
when it is deleted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from starlette.responses import Response
from starlette.routing import Route

from herald.emulator.routing import RequestContext
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import paginate_meta, product_route
from herald.emulator.wire import Params, json_response


class ServiceRecord(Protocol):
    """What every Service record has."""

    sid: str
    account_sid: str
    date_updated: datetime


Service = TypeVar("Service", bound=ServiceRecord)


@dataclasses.dataclass(frozen=True)
class ServiceResource(Generic[Service]):
    """One product's Services: where they live and what is particular to them."""

    path: str
    """The collection's path, `/v1/Services`."""
    store: StoreKey[Service]
    new: Callable[[RequestContext, Params], Service]
    """A new Service of the caller's account from a create form (its `FriendlyName` given)."""
    configure: Callable[[Service, Params], None]
    """Apply the settings present in a form; raise Twilio's error for a bad one."""
    render: Callable[[RequestContext, Service], dict[str, Any]]
    forget: Callable[[RequestContext, Service], None]
    """Remove what goes with a deleted Service."""

    def find(self, state: EmulatorState, account_sid: str, sid: str) -> Service | None:
        """The Service `sid` if `account_sid` owns it."""
        service = state.store(self.store).get(sid)
        return service if service is not None and service.account_sid == account_sid else None

    def named(self, ctx: RequestContext, name: str = "sid") -> Service:
        """The caller's Service named by the path parameter `name`, or Twilio's 404/20404."""
        service = self.find(ctx.state, ctx.account.sid, ctx.path(name))
        if service is None:
            raise ctx.not_found()
        return service

    def routes(self) -> list[Route]:
        """`POST` and `GET` on the collection; `GET`, `POST` and `DELETE` on one Service."""
        one = self.path + "/{sid}"
        return [
            product_route("POST", self.path, self._create),
            product_route("GET", self.path, self._list),
            product_route("GET", one, self._fetch),
            product_route("POST", one, self._update),
            product_route("DELETE", one, self._delete),
        ]

    async def _create(self, ctx: RequestContext) -> Response:
        params = await ctx.form()
        params.require("FriendlyName")
        service = self.new(ctx, params)
        self.configure(service, params)
        ctx.state.store(self.store).add(service)
        return json_response(self.render(ctx, service), status=201)

    async def _list(self, ctx: RequestContext) -> Response:
        services = [s for s in ctx.state.store(self.store) if s.account_sid == ctx.account.sid]
        page = paginate_meta(
            services,
            request=ctx.request,
            params=ctx.query(),
            path=self.path,
            key="services",
            render=lambda service: self.render(ctx, service),
            sid_of=lambda service: service.sid,
        )
        return json_response(page)

    async def _fetch(self, ctx: RequestContext) -> Response:
        return json_response(self.render(ctx, self.named(ctx)))

    async def _update(self, ctx: RequestContext) -> Response:
        service = self.named(ctx)
        self.configure(service, await ctx.form())
        service.date_updated = ctx.now()
        return json_response(self.render(ctx, service))

    async def _delete(self, ctx: RequestContext) -> Response:
        service = self.named(ctx)
        self.forget(ctx, service)
        ctx.state.store(self.store).remove(service.sid)
        return Response(status_code=204)
