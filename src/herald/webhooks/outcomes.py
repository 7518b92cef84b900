"""What became of each Twilio webhook, counted for the operator and served at `GET /metrics`.

Every request under `/webhooks/twilio/` ends in exactly one outcome, counted per route:

    accepted, duplicate, unknown_status                 200: stored; a repeat; a status ignored
    unsupported_media_type, wrong_charset               415
    too_large                                           413 (also from the API's body limit)
    timeout                                             408: the body came too slowly
    malformed_form, truncated, missing_parameter,       400
    invalid_parameter
    invalid_request                                     422: refused by the API's input checks
    no_account, unknown_account, api_key_tenant,        403
    bad_signature
    unknown_message                                     503 + Retry-After (Twilio calls again)
    no_route                                            404/405: no such webhook route
    http_<status>                                       any other answer given before the route
    error                                               500: a fault in Herald, never the request's

The routes name their outcome (`set_outcome`); `CountWebhookOutcomes`, an ASGI middleware
around the whole app, counts it once the answer is sent, so refusals made before any route ran
(the API's body limit) are counted too. Each answer other than 200 is also logged at INFO with
the structured fields `webhook_route`, `webhook_outcome` and `status` (the signature check logs
its own warning with the URLs it tried).

Counts are per process since it started, as Prometheus counters are: sum them over processes.
`metrics_router` serves them in Prometheus' text format to `Authorization: Bearer
<HERALD_ADMIN_KEY>`; without an admin key configured it answers 404.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
from typing import Final

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.domain.problems import ProblemCode, ProblemError
from herald.settings import Settings

logger = logging.getLogger("herald.webhooks")

WEBHOOK_PREFIX: Final = "/webhooks/twilio/"
METRICS_PATH: Final = "/metrics"
METRIC: Final = "herald_twilio_webhooks_total"
_SCOPE_KEY: Final = "herald.webhook_outcome"
_ROUTES: Final = frozenset({"status", "inbound"})
# Answers given before any webhook route ran: by the API's middleware, or for no route at all.
_BY_STATUS: Final = {
    404: "no_route",
    405: "no_route",
    408: "timeout",
    413: "too_large",
    422: "invalid_request",
}
_TEXT_FORMAT: Final = "text/plain; version=0.0.4; charset=utf-8"


def set_outcome(request: Request, outcome: str) -> None:
    """Name what became of this webhook request (one of the words in the module docstring)."""
    request.scope[_SCOPE_KEY] = outcome


class WebhookOutcomes:
    """Counts of Twilio webhook requests per (route, outcome), since the process started."""

    def __init__(self) -> None:
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def add(self, route: str, outcome: str) -> None:
        """Count one request to `route` that ended in `outcome`."""
        self._counts[route, outcome] += 1

    def counts(self) -> dict[tuple[str, str], int]:
        """A copy of the counts, keyed by (route, outcome)."""
        return dict(self._counts)

    def exposition(self) -> str:
        """The counts in Prometheus' text format."""
        lines = [
            f"# HELP {METRIC} Twilio webhook requests by route and outcome since start.",
            f"# TYPE {METRIC} counter",
        ]
        for (route, outcome), count in sorted(self._counts.items()):
            lines.append(f'{METRIC}{{route="{route}",outcome="{outcome}"}} {count}')
        return "\n".join(lines) + "\n"


class CountWebhookOutcomes:
    """ASGI middleware counting the outcome of every request under `/webhooks/twilio/`."""

    def __init__(self, app: ASGIApp, *, outcomes: WebhookOutcomes) -> None:
        self._app = app
        self._outcomes = outcomes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(WEBHOOK_PREFIX):
            await self._app(scope, receive, send)
            return
        answered: list[int] = []

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, watching_send)
        except BaseException:
            self._count(scope, path, answered[0] if answered else 500)
            raise
        self._count(scope, path, answered[0] if answered else 500)

    def _count(self, scope: Scope, path: str, status: int) -> None:
        route = path.removeprefix(WEBHOOK_PREFIX)
        route = route if route in _ROUTES else "other"
        outcome = scope.get(_SCOPE_KEY)
        if not isinstance(outcome, str) or (status >= 500 and status != 503):  # noqa: PLR2004
            outcome = _BY_STATUS.get(status) or ("error" if status >= 500 else f"http_{status}")  # noqa: PLR2004
        self._outcomes.add(route, outcome)
        if status != 200:  # noqa: PLR2004
            # The route, never the path: a path is the sender's text, and could forge log lines.
            logger.info(
                "Twilio webhook %s%s answered %d: %s",
                WEBHOOK_PREFIX,
                route,
                status,
                outcome,
                extra={"webhook_route": route, "webhook_outcome": outcome, "status": status},
            )


def metrics_router(outcomes: WebhookOutcomes, settings: Settings) -> APIRouter:
    """`GET /metrics`: the counts, to a caller bearing the admin key."""
    router = APIRouter(include_in_schema=False)
    wanted = hashlib.sha256(settings.admin_key.encode()).digest()

    @router.get(METRICS_PATH)
    async def metrics(request: Request) -> Response:
        if not settings.admin_key:
            raise ProblemError(
                ProblemCode.NOT_FOUND, "Metrics are off: set HERALD_ADMIN_KEY to read them."
            )
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            hashlib.sha256(offered.strip().encode()).digest(), wanted
        ):
            raise ProblemError(
                ProblemCode.UNAUTHORIZED,
                "Metrics need the admin key: send `Authorization: Bearer <HERALD_ADMIN_KEY>`.",
            )
        return Response(outcomes.exposition(), media_type=_TEXT_FORMAT)

    return router
