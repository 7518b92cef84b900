"""The API's FastAPI app: its routers, its error handling, its body limits and its reference.

`create_api(deps)` builds the app applications call (`/v1/...`, `/healthz`, `/readyz`,
`/openapi.json`, `/docs`). The composition root (`herald.gateway`) adds the Twilio webhook
routes to the same app with `app.include_router(...)`; every error any of them raises becomes a
problem document through the handlers installed here.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, FastAPI

from herald import __version__
from herald.api import (
    docs_page,
    endpoints,
    events,
    health,
    messages,
    optouts,
    verifications,
)
from herald.api.deps import ApiDeps
from herald.api.input_guard import InputGuard, known_query_only
from herald.api.limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit
from herald.api.problems import install_problem_handlers

DESCRIPTION = (
    "Send SMS and WhatsApp messages through Herald, follow their delivery, honour opt-outs and "
    "receive events. Authenticate with `Authorization: Bearer <api key>`. Every error is an "
    "RFC 9457 problem document (`application/problem+json`) with a stable `code`."
)


def create_api(
    deps: ApiDeps,
    *,
    first_routers: Sequence[APIRouter] = (),
    extra_routers: Sequence[APIRouter] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The HTTP API over `deps`, with `first_routers` (the webhook intake) and `extra_routers`
    mounted too. FastAPI tries the routes in order, each in full, until one matches: the busiest
    intake, whose paths no other route shares, goes first."""
    app = FastAPI(
        title="Herald",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(known_query_only)],
        # Herald exports no OpenTelemetry; looking for its providers costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.herald = deps
    # The last added runs first: the size and time limits, the text checks, the answer to an
    # unexpected error, then the direct path of a send.
    app.add_middleware(messages.DirectSend)
    install_problem_handlers(app)
    app.add_middleware(InputGuard)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=max_body_bytes,
        read_timeout=deps.settings.http_read_timeout_seconds,
    )
    for router in first_routers:
        app.include_router(router)
    for module in (messages, optouts, verifications, endpoints, events, health, docs_page):
        app.include_router(module.router)
    for router in extra_routers:
        app.include_router(router)
    return app
